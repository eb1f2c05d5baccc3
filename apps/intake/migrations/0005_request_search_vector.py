import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

import apps.core.search

# The vector apps.core.search.vectors_update writes (title A, detail B), for every row at once; then the
# expression index the search used before is replaced by an index of the stored vector.
BACKFILL = """
UPDATE intake_request SET search_vector =
    setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE(detail, '')), 'B')
"""


def backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKFILL)


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0004_request_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="request",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        # The expression index was kept out of the migration state (AddSearchIndex): dropped by name, on
        # PostgreSQL (on SQLite, which never had it, IF EXISTS makes this nothing).
        migrations.RunSQL(
            "DROP INDEX IF EXISTS request_search",
            migrations.RunSQL.noop,
        ),
        apps.core.search.AddSearchIndex(
            model_name="request",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="request_search_vector"),
        ),
    ]
