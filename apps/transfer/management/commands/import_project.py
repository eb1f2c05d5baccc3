"""``python manage.py import_project project.json --key NEW``: restore a backup as a new project."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import DomainError
from apps.transfer.services import MISSING_USERS, document_load, project_import


class Command(BaseCommand):
    help = (
        "Create a new project from a document written by export_project, in one transaction: the same workflow, "
        "stories, event log (seqs and times kept), sprints, deliverables and requests. Nothing is written when "
        "the file is refused."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the JSON document; - reads standard input")
        parser.add_argument("--key", required=True, help="the new project's key (2 to 10 capital letters)")
        parser.add_argument("--name", default=None, help="the new project's name (default: the one in the file)")
        parser.add_argument(
            "--missing-users",
            choices=MISSING_USERS,
            default="refuse",
            help="users the file names but this installation lacks: refuse (default, listing them) or create "
            "them as inactive accounts without a usable password",
        )

    def handle(self, *args: Any, file: str, key: str, name: str | None, missing_users: str, **options: Any) -> None:
        try:
            raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        try:
            project = project_import(
                document=document_load(raw), key=key, actor=None, name=name, missing_users=missing_users
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {project}: {project.stories.count()} stories, {project.last_event_seq} events, "
                f"{project.sprints.count()} sprints."
            )
        )
