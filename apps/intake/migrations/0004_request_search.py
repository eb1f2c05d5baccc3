import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

import apps.core.search


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0003_request_requester_email"),
    ]

    operations = [
        # Search: an expression GIN index over title (A) and detail (B), on PostgreSQL only.
        apps.core.search.AddSearchIndex(
            model_name="request",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.search.CombinedSearchVector(
                    django.contrib.postgres.search.SearchVector("title", config="english", weight="A"),
                    "||",
                    django.contrib.postgres.search.SearchVector("detail", config="english", weight="B"),
                    django.contrib.postgres.search.SearchConfig("english"),
                ),
                name="request_search",
            ),
        ),
    ]
