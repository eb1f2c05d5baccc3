import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models

import apps.core.search

# The vector apps.stories.services.story_search_update writes, for every story at once: key and title (A),
# description and acceptance criteria (B), the comments, oldest first, up to 100,000 characters (C).
BACKFILL = """
UPDATE stories_story AS s SET search_vector =
    setweight(to_tsvector('english'::regconfig, COALESCE(s.key, '') || ' ' || COALESCE(s.title, '')), 'A')
    || setweight(to_tsvector('english'::regconfig,
        COALESCE(s.description, '') || ' ' || COALESCE(s.acceptance_criteria, '')), 'B')
    || setweight(to_tsvector('english'::regconfig, LEFT(COALESCE((
        SELECT string_agg(c.body, ' ' ORDER BY c.created_at, c.id) FROM stories_comment AS c WHERE c.story_id = s.id
    ), ''), 100000)), 'C')
"""


def backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKFILL)


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0012_storyevent_actor_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="story",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        apps.core.search.AddSearchIndex(
            model_name="story",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="story_search"),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(fields=["project", "-id"], name="story_project_newest"),
        ),
        apps.core.search.AddSearchIndex(
            model_name="epic",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.search.CombinedSearchVector(
                    django.contrib.postgres.search.SearchVector("name", config="english", weight="A"),
                    "||",
                    django.contrib.postgres.search.SearchVector("description", config="english", weight="B"),
                    django.contrib.postgres.search.SearchConfig("english"),
                ),
                name="epic_search",
            ),
        ),
    ]
