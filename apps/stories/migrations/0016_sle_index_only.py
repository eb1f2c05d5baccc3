from django.db import migrations, models

# The board's service level reads each finished story's cycle days: with them in the index the read is an
# index-only scan (on PostgreSQL; other databases build the index without the included column).


class Migration(migrations.Migration):
    dependencies = [("stories", "0015_epic_search_vector")]

    operations = [
        migrations.RemoveIndex(model_name="story", name="story_project_finished"),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["project", "flow_finished_at"],
                include=("flow_cycle_days",),
                name="story_project_finished",
            ),
        ),
    ]
