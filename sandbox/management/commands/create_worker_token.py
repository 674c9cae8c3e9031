from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from sandbox import services


class Command(BaseCommand):
    help = "Create the token of a sandbox worker host and print it (shown only here; set it as BP_WORKER_TOKEN)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="the worker host's name (BP_WORKER_NAME)")

    def handle(self, *args, name: str, **options) -> None:
        try:
            _token, raw = services.issue_worker_token(name=name)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        self.stdout.write(raw)
