from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.projects.models import Role
from apps.web.demo import DEMO_PASSWORD, PEOPLE, PROJECT_KEY, seed_demo

ROLE_NAMES = dict(Role.choices)


class Command(BaseCommand):
    help = f"Create the demo project {PROJECT_KEY} with fourteen weeks of sprint history. Does nothing if it exists."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            dest="not_production",
            help="Seed even with DJANGO_DEBUG=0 (the demo accounts, a superuser among them, share a known password).",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["not_production"]:
            raise CommandError(
                f"seed_demo creates the superuser admin with the password {DEMO_PASSWORD!r}: it runs only with "
                "DJANGO_DEBUG=1. On a throwaway installation with DJANGO_DEBUG=0, pass --i-know-this-is-not-production."
            )
        started = time.monotonic()
        project = seed_demo()
        if project is None:
            self.stdout.write(f"The demo project {PROJECT_KEY} already exists: nothing to do.")
        else:
            stories = project.stories.count()
            sprints = project.sprints.count()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created {project}: {stories} stories, {sprints} sprints, {project.last_event_seq} events "
                    f"in {time.monotonic() - started:.1f} s."
                )
            )
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r} for accounts the demo created):")
        for person in PEOPLE:
            self.stdout.write(
                f"  {person.username:<12} {ROLE_NAMES[person.role].lower():<14} {person.first_name} {person.last_name}, {person.title}"
            )
