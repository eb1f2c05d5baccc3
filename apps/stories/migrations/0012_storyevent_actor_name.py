from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0011_story_external_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="storyevent",
            name="actor_name",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.AddField(
            model_name="storyevent",
            name="to_name",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
    ]
