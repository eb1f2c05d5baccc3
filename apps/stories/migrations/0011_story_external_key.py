from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0010_record_legacy_rank_rewrites"),
    ]

    operations = [
        migrations.AddField(
            model_name="story",
            name="external_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddConstraint(
            model_name="story",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_key", ""), _negated=True),
                fields=("project", "external_key"),
                name="story_unique_external_key",
            ),
        ),
    ]
