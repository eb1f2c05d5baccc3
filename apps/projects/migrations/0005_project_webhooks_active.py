from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0004_project_flow_seq"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="webhooks_active",
            field=models.BooleanField(default=False, editable=False),
        ),
    ]
