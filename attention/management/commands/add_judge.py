from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from attention.services import add_judge


class Command(BaseCommand):
    help = "Make an existing user a judge: member of the 'judges' group, with admin access (is_staff)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r} (create one with createsuperuser or the admin first).")
        add_judge(user=user)
        self.stdout.write(f"{username} is a judge.")
