"""Sessions: Django's database sessions, kept with their user's id and read with their user in one statement
(``apps.web.sessions``, ``apps.web.middleware.AuthenticationMiddleware``); a user by id otherwise in one
statement too (``apps.web.backends``).

They stay in the database (logging in works without Redis; a logout or an expiry ends a session at once),
on PostgreSQL and on the embedded SQLite.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.web.backends import ModelBackend
from apps.web.models import UserSession as Session
from apps.web.sessions import SessionStore
from tests.deploy.environment import on_sqlite

pytestmark = pytest.mark.django_db


def logged_in(user) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, client.cookies["sessionid"].value


def test_a_session_is_read_in_one_query(people, django_assert_num_queries):
    _, key = logged_in(people["member"])
    with django_assert_num_queries(1):
        data = SessionStore(key).load()
    assert data[SESSION_KEY] == str(people["member"].pk)


def test_a_request_reads_its_session_and_its_user_in_one_query(people, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, key = logged_in(people["member"])
    assert Session.objects.get(session_key=key).user_id == people["member"].pk
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("account"))
    assert response.status_code == 200 and response.context["user"] == people["member"]
    reads = [q["sql"] for q in queries if 'FROM "auth_user"' in q["sql"] or "web_session" in q["sql"]]
    assert len(reads) == 1 and "web_session" in reads[0] and "auth_user" in reads[0], reads


@pytest.mark.postgres
def test_the_session_read_is_planned_once_per_connection_and_stays_current(people):
    """Prepared from its 5th run (every request runs it): planned once per connection, and still a fresh read,
    so a logout or an expiry ends the session at its next request."""
    from django.db import connection

    client, key = logged_in(people["member"])
    for _ in range(6):
        assert client.get(reverse("account")).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%FROM {connection.ops.quote_name(Session._meta.db_table)} t0%"],
        )
        (generic, custom), *others = cursor.fetchall()
    assert generic >= 2 and custom == 0 and not others
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("account")).status_code == 302


def test_a_password_change_elsewhere_still_signs_the_session_out(people):
    """The user read with the session goes through Django's checks: the session's hash of the password."""
    client, _ = logged_in(people["member"])
    people["member"].set_password("a-new-long-passphrase")
    people["member"].save()
    assert client.get(reverse("account")).status_code == 302


def test_a_deleted_users_sessions_end(people):
    _, key = logged_in(people["member"])
    people["member"].delete()
    assert not Session.objects.filter(session_key=key).exists()


def test_live_sessions_are_moved_with_their_user(people):
    """The migration to web_session: live sessions keep their user (nobody is signed out); expired ones and
    data that does not decode are left behind or kept with no user."""
    import importlib

    from django.apps import apps as registry
    from django.contrib.auth import HASH_SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore as OldStore
    from django.contrib.sessions.models import Session as OldSession

    member = people["member"]
    old = OldStore()
    old.update(
        {
            SESSION_KEY: str(member.pk),
            HASH_SESSION_KEY: member.get_session_auth_hash(),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        }
    )
    old.create()
    gone = OldStore()
    gone.update({SESSION_KEY: str(10**9)})
    gone.create()
    OldSession.objects.create(session_key="x" * 32, session_data="not-signed", expire_date=old.get_expiry_date())
    OldSession.objects.create(
        session_key="y" * 32, session_data=old.encode({}), expire_date=timezone.now() - timedelta(seconds=1)
    )
    Session.objects.all().delete()
    importlib.import_module("apps.web.migrations.0002_user_session").copy_live_sessions(registry, None)

    moved = dict(Session.objects.values_list("session_key", "user_id"))
    assert moved == {old.session_key: member.pk, gone.session_key: None, "x" * 32: None}
    client = Client()
    client.cookies["sessionid"] = old.session_key
    assert client.get(reverse("account")).status_code == 200


def test_the_nightly_clean_up_deletes_expired_sessions_only(people, settings):
    from apps.web.tasks import sessions_clear_task

    _, live = logged_in(people["member"])
    _, expired = logged_in(people["owner"])
    Session.objects.filter(session_key=expired).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert sessions_clear_task.apply().get() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
    assert settings.CELERY_BEAT_SCHEDULE["sessions-clear"]["task"] == sessions_clear_task.name


def test_an_expired_or_unknown_session_is_no_session(people):
    client, key = logged_in(people["member"])
    assert client.get(reverse("account")).status_code == 200
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = SessionStore(key)
    assert store.load() == {} and store.session_key is None  # a new key is made if it is saved
    assert client.get(reverse("account")).status_code == 302
    assert SessionStore("no-such-session-key").load() == {}


def test_a_logout_ends_the_session_for_every_copy_of_its_cookie(people):
    client, key = logged_in(people["member"])
    copy = Client()
    copy.cookies["sessionid"] = key
    assert copy.get(reverse("account")).status_code == 200
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()
    assert copy.get(reverse("account")).status_code == 302


def test_a_session_from_before_the_faster_backend_stays_signed_in(people):
    """Sessions name the backend that logged their user in: Django's, before apps.web.backends."""
    client, key = logged_in(people["member"])
    session = SessionStore(key)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session.save()
    assert client.get(reverse("account")).status_code == 200
    assert SessionStore(key).load()[BACKEND_SESSION_KEY] == "apps.web.backends.ModelBackend"


def test_a_sessions_user_is_read_in_one_query_with_every_field(people, django_assert_num_queries):
    member = people["member"]
    with django_assert_num_queries(1):
        user = ModelBackend().get_user(member.pk)
        fields = {field.attname: getattr(user, field.attname) for field in user._meta.concrete_fields}
    assert user == member and not user.get_deferred_fields()
    assert fields == {field.attname: getattr(member, field.attname) for field in member._meta.concrete_fields}


def test_an_inactive_or_deleted_user_is_nobody(people):
    client, _ = logged_in(people["member"])
    people["member"].is_active = False
    people["member"].save(update_fields=["is_active"])
    assert ModelBackend().get_user(people["member"].pk) is None
    assert client.get(reverse("account")).status_code == 302
    assert ModelBackend().get_user(10**9) is None


SQLITE_SCRIPT = r"""
import json
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.test import Client
from apps.web.models import UserSession as Session
from django.utils import timezone

user = get_user_model().objects.create_user("member", password="a-long-passphrase")
client = Client(HTTP_HOST="localhost")
login = client.post("/login/", {"username": "member", "password": "a-long-passphrase"}).status_code
before = client.get("/account/").status_code
Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
after = client.get("/account/").status_code
print(json.dumps([login, before, after]))
"""


def test_sessions_work_on_sqlite(tmp_path: Path) -> None:
    assert on_sqlite(tmp_path, SQLITE_SCRIPT) == [302, 200, 302]
