import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

import apps.core.search

# The vector apps.core.search.vectors_update writes (name A, description B), for every row at once; then the
# expression index the search used before is replaced by an index of the stored vector.
BACKFILL = """
UPDATE deliverables_deliverable SET search_vector =
    setweight(to_tsvector('english'::regconfig, COALESCE(name, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE(description, '')), 'B')
"""


def backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKFILL)


class Migration(migrations.Migration):
    dependencies = [
        ("deliverables", "0003_pipeline_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="deliverable",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        # The expression index was kept out of the migration state (AddSearchIndex): dropped by name, on
        # PostgreSQL (on SQLite, which never had it, IF EXISTS makes this nothing).
        migrations.RunSQL(
            "DROP INDEX IF EXISTS deliverable_search",
            migrations.RunSQL.noop,
        ),
        apps.core.search.AddSearchIndex(
            model_name="deliverable",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="deliverable_search_vector"),
        ),
    ]
