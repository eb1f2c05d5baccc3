# E-mailed requests: the sender's address, the message's Message-ID (one request per message), the reply.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0002_channel_slack"),
    ]

    operations = [
        migrations.AddField(
            model_name="request",
            name="requester_email",
            field=models.EmailField(blank=True, max_length=254),
        ),
        migrations.AddField(
            model_name="request",
            name="message_id",
            field=models.CharField(blank=True, max_length=998),
        ),
        migrations.AddField(
            model_name="request",
            name="replied_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="request",
            constraint=models.UniqueConstraint(
                condition=models.Q(("message_id", ""), _negated=True),
                fields=("project", "message_id"),
                name="request_message_id_once",
            ),
        ),
    ]
