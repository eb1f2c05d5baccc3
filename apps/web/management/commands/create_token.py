from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.web.services import token_issue


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is stored hashed: this is the only time it is shown)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="created with manage.py create_token")

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user {username!r}.")
        _, key = token_issue(user=user, name=name)
        self.stdout.write(key)
