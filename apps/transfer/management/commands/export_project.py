"""``python manage.py export_project KEY > project.json``: a project's lossless backup, as one JSON document."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.projects.models import Project
from apps.transfer.services import project_export


class Command(BaseCommand):
    help = (
        "Write one project (workflow, members, epics, labels, sprints, stories, every event, comments, deliverables, "
        "requests) as a JSON document to standard output; import_project reads it back."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("key", metavar="KEY", help="the project's key, such as DATA")
        parser.add_argument("--indent", type=int, default=None, help="indent the JSON (default: compact)")

    def handle(self, *args: Any, key: str, indent: int | None, **options: Any) -> None:
        project = Project.objects.filter(key=key).first()
        if project is None:
            raise CommandError(f"There is no project {key!r}.")
        self.stdout.write(json.dumps(project_export(project), indent=indent, ensure_ascii=False))
