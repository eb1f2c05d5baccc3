from django.db import migrations


def flag_listening_projects(apps, schema_editor):
    """Projects with an active webhook: their story writes queue deliveries again."""
    Webhook = apps.get_model("webhooks", "Webhook")
    listening = Webhook.objects.filter(active=True).values("project_id")
    apps.get_model("projects", "Project").objects.filter(pk__in=listening).update(webhooks_active=True)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_project_webhooks_active"),
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(flag_listening_projects, migrations.RunPython.noop),
    ]
