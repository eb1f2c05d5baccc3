"""Sessions move to ``web_session``, which keeps the signed-in user's id beside the session (apps.web.sessions).

Live sessions are copied with their user's id read from their data, so nobody is signed out by the deploy. A
session whose data no longer decodes (another SECRET_KEY) is left behind: it signed nobody in anyway.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import migrations, models
from django.utils import timezone

BATCH = 1000


def copy_live_sessions(apps, schema_editor):
    Old = apps.get_model("sessions", "Session")
    New = apps.get_model("web", "UserSession")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    users = set(User.objects.values_list("pk", flat=True))
    decoder = SessionStore()  # the data's signature is salted with the store class's name: SessionStore's
    batch = []
    for old in Old.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=BATCH):
        data = decoder.decode(old.session_data)  # {} when it does not decode
        named = str(data.get(SESSION_KEY, ""))
        user_id = int(named) if named.isdigit() and int(named) in users else None
        batch.append(New(old.session_key, old.session_data, old.expire_date, user_id))
        if len(batch) == BATCH:
            New.objects.bulk_create(batch)
            batch = []
    New.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0001_initial"),
        ("sessions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="UserSession",
            fields=[
                (
                    "session_key",
                    models.CharField(max_length=40, primary_key=True, serialize=False, verbose_name="session key"),
                ),
                ("session_data", models.TextField(verbose_name="session data")),
                ("expire_date", models.DateTimeField(db_index=True, verbose_name="expire date")),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "session",
                "verbose_name_plural": "sessions",
                "db_table": "web_session",
                "abstract": False,
            },
        ),
        migrations.RunPython(copy_live_sessions, migrations.RunPython.noop, elidable=True),
    ]
