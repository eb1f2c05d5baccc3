import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

import apps.core.search


class Migration(migrations.Migration):
    dependencies = [
        ("deliverables", "0001_initial"),
    ]

    operations = [
        # Search: an expression GIN index over name (A) and description (B), on PostgreSQL only.
        apps.core.search.AddSearchIndex(
            model_name="deliverable",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.search.CombinedSearchVector(
                    django.contrib.postgres.search.SearchVector("name", config="english", weight="A"),
                    "||",
                    django.contrib.postgres.search.SearchVector("description", config="english", weight="B"),
                    django.contrib.postgres.search.SearchConfig("english"),
                ),
                name="deliverable_search",
            ),
        ),
    ]
