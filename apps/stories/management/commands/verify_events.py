from django.core.management.base import BaseCommand, CommandError

from apps.projects.models import Project
from apps.stories.verification import verify_project


class Command(BaseCommand):
    help = (
        "Replay every story's event log (deleted stories too) and compare it with the rows, their links to "
        "other stories and their flow projection; check each project's sequence is gapless and its time never goes back. Prints one line "
        "per mismatch and a summary; exits 1 on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", metavar="KEY", help="check only this project")

    def handle(self, *args, project: str | None = None, **options):
        projects = Project.objects.order_by("key")
        if project is not None:
            projects = projects.filter(key=project)
            if not projects.exists():
                raise CommandError(f"There is no project {project!r}.")
        mismatches = checked = stories = 0
        for each in projects:
            for mismatch in verify_project(each):
                self.stdout.write(str(mismatch))
                mismatches += 1
            checked += 1
            stories += each.stories.count()
        summary = f"{checked} project(s), {stories} stories checked: {mismatches} mismatch(es)."
        if mismatches:
            self.stderr.write(summary)
            raise SystemExit(1)
        self.stdout.write(summary)
