import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import DomainError
from apps.imports import services
from apps.imports.services import ImportRefused
from apps.projects import services as project_services
from apps.projects.models import Project


class Command(BaseCommand):
    help = (
        "Import Jira REST search pages (JSON, several pages, or a zip of them; searched with expand=changelog) "
        "into project KEY. Without --mapping the pre-filled mapping applies: statuses by statusCategory (the "
        "workflow states the project lacks are created), Epics to epics, sub-tasks skipped, users matched to "
        "members by user name or e-mail. Re-running with newer files updates, never duplicates."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", metavar="KEY", help="the project's key (created when --as is given and it is new)")
        parser.add_argument("files", metavar="FILE", nargs="+", help="Jira search pages (.json) or a .zip of them")
        parser.add_argument(
            "--mapping", metavar="mapping.json", help="the mapping (see the API docs); default: pre-filled"
        )
        parser.add_argument("--dry-run", action="store_true", help="print what would be written, write nothing")
        parser.add_argument("--as", dest="actor", metavar="USERNAME", help="who imports (and creates a new project)")
        parser.add_argument("--name", help="the name of a new project (default: the key)")

    def handle(self, *args, key: str, files: list[str], mapping: str | None, dry_run: bool, **options):
        actor = self._actor(options.get("actor"))
        project = self._project(key, actor, options.get("name"), dry_run)
        try:
            contents = [(Path(name).name, Path(name).read_bytes()) for name in files]
            chosen = json.loads(Path(mapping).read_text()) if mapping else None
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        try:
            summary = services.import_files_now(
                project=project, actor=actor, source="jira", files=contents, mapping=chosen, dry_run=dry_run
            )
        except ImportRefused as exc:
            raise CommandError("\n".join(str(problem) for problem in exc.problems)) from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(json.dumps(summary, indent=2, default=str))

    def _actor(self, username: str | None):
        if username is None:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        return user

    def _project(self, key: str, actor, name: str | None, dry_run: bool) -> Project:
        project = Project.objects.filter(key=key).first()
        if project is not None:
            return project
        if actor is None or dry_run:
            raise CommandError(f"There is no project {key!r}: create it, or pass --as USERNAME to create it.")
        try:
            return project_services.project_create(creator=actor, key=key, name=name or key)
        except DomainError as exc:
            raise CommandError(exc.message) from None
