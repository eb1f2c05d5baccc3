from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="request",
            name="channel",
            field=models.CharField(
                choices=[
                    ("web", "Web"),
                    ("email", "Email"),
                    ("chat", "Chat"),
                    ("meeting", "Meeting"),
                    ("slack", "Slack"),
                ],
                default="web",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="request",
            name="requester_name",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
    ]
