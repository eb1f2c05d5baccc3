"""Brute force is slowed down: failed logins lock out per user and per address (django-axes), the API
is throttled per user and per address with a 429 and Retry-After in the error shape, guessed tokens
are throttled, tokens can expire, and a password change ends the user's other sessions (and tokens)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.throttling import UserRateThrottle
from apps.web.models import ApiToken
from apps.web.services import token_issue

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


@pytest.fixture
def strict_rates(settings):
    """Small limits, and no counts left over from other tests (throttle counts live in the cache)."""
    cache.clear()

    def set_rates(**rates: str) -> None:
        generous = {"user": "100000/minute", "address": "100000/minute", "token_failure": "100000/minute"}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**generous, **rates}}

    yield set_rates
    cache.clear()


def login(client: Client, username: str, password: str, address: str, path: str = "/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    error = response.json()["errors"][0]
    assert error["code"] == "throttled" and error["field"] is None and "throttled" in error["message"]


# --- Logins ------------------------------------------------------------------------------------------


def test_repeated_failed_logins_lock_the_user_out_even_with_the_right_password(client, people, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "member", WRONG, "10.0.0.1").status_code == 200  # the form, with its error
    assert login(client, "member", WRONG, "10.0.0.1").status_code == 429  # the last failure allowed
    locked = login(client, "member", "pw-member", "10.0.0.2")  # another address: the user is locked out
    assert locked.status_code == 429 and b"Too many failed logins" in locked.content
    assert login(Client(), "owner", "pw-owner", "10.0.0.3").status_code == 302  # others log in


def test_repeated_failed_logins_from_one_address_lock_that_address_out(client, people, settings):
    names = ["admin", "owner", "stakeholder", "outsider", "nobody", "ghost"][: settings.AXES_FAILURE_LIMIT]
    for name in names:
        login(client, name, WRONG, "10.0.0.9")
    assert login(Client(), "member", "pw-member", "10.0.0.9").status_code == 429
    assert login(Client(), "member", "pw-member", "10.0.0.10").status_code == 302


def test_the_admin_login_is_locked_out_too(client, people, settings):
    people["admin"].is_staff = True
    people["admin"].save()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "admin", WRONG, "10.0.1.1", path="/admin/login/")
    assert login(Client(), "admin", "pw-admin", "10.0.1.2", path="/admin/login/").status_code == 429


def test_a_successful_login_before_the_limit_starts_the_count_again(client, people, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "member", WRONG, "10.0.2.1")
    assert login(Client(), "member", "pw-member", "10.0.2.1").status_code == 302
    assert login(Client(), "member", WRONG, "10.0.2.1").status_code == 200


def test_behind_a_proxy_the_forwarded_address_is_the_one_locked_out(client, people, settings):
    settings.NUM_PROXIES = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/login/", {"username": "nobody", "password": WRONG}, REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4"
        )
    other_client = Client().post(
        "/login/",
        {"username": "member", "password": "pw-member"},
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="5.6.7.8",
    )
    assert other_client.status_code == 302  # same proxy, another client


# --- API throttling ------------------------------------------------------------------------------------


def test_the_api_throttles_each_user(world, people, strict_rates):
    strict_rates(user="3/minute")
    member = APIClient()
    member.force_authenticate(people["member"])
    for _ in range(3):
        assert member.get("/api/v1/projects/").status_code == 200
    assert_throttled(member.get("/api/v1/projects/"))
    owner = APIClient()
    owner.force_authenticate(people["owner"])
    assert owner.get("/api/v1/projects/").status_code == 200


def test_the_api_throttles_each_address_whoever_signs_in(world, people, strict_rates):
    strict_rates(address="3/minute")
    for name in ("member", "owner", "stakeholder"):
        client = APIClient()
        client.force_authenticate(people[name])
        assert client.get("/api/v1/projects/", REMOTE_ADDR="10.1.0.1").status_code == 200
    client = APIClient()
    client.force_authenticate(people["admin"])
    assert_throttled(client.get("/api/v1/projects/", REMOTE_ADDR="10.1.0.1"))
    assert client.get("/api/v1/projects/", REMOTE_ADDR="10.1.0.2").status_code == 200


def test_both_limits_are_counted_in_one_round_trip_to_the_cache(world, people, strict_rates, monkeypatch):
    strict_rates(user="2/minute")
    batches = []
    count_many = cache.count_many

    def spy(counts):
        batches.append(len(counts))
        return count_many(counts)

    monkeypatch.setattr(cache, "count_many", spy)
    client = APIClient()
    client.force_authenticate(people["member"])
    for _ in range(2):
        assert client.get("/api/v1/projects/", REMOTE_ADDR="10.1.2.1").status_code == 200
    assert_throttled(client.get("/api/v1/projects/", REMOTE_ADDR="10.1.2.1"))
    assert batches == [2, 2, 2]  # the user's count and the address's, together, at each request
    assert UserRateThrottle().allow_request(SimpleNamespace(user=people["member"], META={}), None) is False


def test_a_forged_forwarded_header_does_not_escape_the_address_limit(world, people, strict_rates):
    strict_rates(address="2/minute")
    client = APIClient()
    client.force_authenticate(people["member"])
    for n in range(2):
        client.get("/api/v1/projects/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert_throttled(client.get("/api/v1/projects/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="192.0.2.99"))


def test_the_window_slides_and_retry_after_says_when_the_next_request_passes(people, strict_rates, monkeypatch):
    """4 a minute: four requests at the end of one minute still weigh on the start of the next; the wait given
    when refused is exactly when the next one passes. Counts are plain integers in the cache, not lists."""
    strict_rates(user="4/minute")
    clock = {"now": 6_000_000 + 59.0}  # one second before a window ends
    request = SimpleNamespace(user=people["member"], META={"REMOTE_ADDR": "10.3.0.1"})

    def ask(at: float) -> tuple[bool, float]:
        clock["now"] = 6_000_000 + at
        throttle = UserRateThrottle()
        monkeypatch.setattr(throttle, "timer", lambda: clock["now"])
        allowed = throttle.allow_request(request, None)
        return allowed, (0.0 if allowed else throttle.wait())

    assert [ask(59.0)[0] for _ in range(4)] == [True] * 4
    allowed, wait = ask(60.5)  # 4 x (1 - 0.5/60) + 1 > 4
    assert not allowed and wait == pytest.approx(29.5)
    assert ask(60.5 + wait + 0.01)[0] is True  # 4 x (1 - 30.01/60) + 2 <= 4
    assert ask(60.5 + wait + 0.02)[0] is False  # the refused request counted too: + 3
    assert cache.get(f"throttle_user_{people['member'].pk}:100001") == 3


def test_guessed_tokens_are_throttled_per_address(world, people, strict_rates):
    strict_rates(token_failure="3/minute")
    _, key = token_issue(user=people["member"])
    guesser = APIClient()
    for n in range(3):
        response = guesser.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token sbt_guess{n}", REMOTE_ADDR="10.2.0.1")
        assert response.status_code == 401
    assert_throttled(guesser.get("/api/v1/projects/", HTTP_AUTHORIZATION="Token sbt_guess9", REMOTE_ADDR="10.2.0.1"))
    # Even a right key is refused from there until the window passes; from elsewhere it works.
    assert_throttled(guesser.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR="10.2.0.1"))
    assert (
        guesser.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR="10.2.0.2").status_code == 200
    )


# --- Tokens and password changes -----------------------------------------------------------------------


def test_tokens_expire_when_a_lifetime_is_set(world, people, settings):
    settings.API_TOKEN_TTL_DAYS = 30
    old, old_key = token_issue(user=people["member"])
    ApiToken.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    _, new_key = token_issue(user=people["member"])
    client = APIClient()
    expired = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {old_key}")
    assert expired.status_code == 401 and "expired" in expired.json()["errors"][0]["message"]
    assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {new_key}").status_code == 200


def test_tokens_never_expire_by_default(world, people, settings):
    assert settings.API_TOKEN_TTL_DAYS == 0
    token, key = token_issue(user=people["member"])
    ApiToken.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(days=3650))
    assert APIClient().get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def change_password(client: Client) -> None:
    response = client.post(
        "/account/password/",
        {
            "old_password": "pw-member",
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
    )
    assert response.status_code == 302


def test_a_password_change_ends_the_users_other_sessions(world, people):
    here, elsewhere = Client(), Client()
    here.force_login(people["member"])
    elsewhere.force_login(people["member"])
    assert elsewhere.get("/account/").status_code == 200
    change_password(here)
    assert here.get("/account/").status_code == 200  # the session that changed it stays
    assert elsewhere.get("/account/").status_code == 302  # back to the login page


def test_a_password_change_revokes_tokens_when_the_setting_says_so(world, people, settings):
    settings.PASSWORD_CHANGE_REVOKES_TOKENS = True
    _, key = token_issue(user=people["member"])
    token_issue(user=people["owner"])
    client = Client()
    client.force_login(people["member"])
    change_password(client)
    assert not ApiToken.objects.filter(user=people["member"]).exists()
    assert ApiToken.objects.filter(user=people["owner"]).exists()
    assert APIClient().get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_a_password_change_keeps_tokens_by_default(world, people, settings):
    assert settings.PASSWORD_CHANGE_REVOKES_TOKENS is False
    _, key = token_issue(user=people["member"])
    client = Client()
    client.force_login(people["member"])
    change_password(client)
    assert APIClient().get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
