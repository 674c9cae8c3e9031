import json

from django.core.management.base import BaseCommand, CommandError

from economy import errors, services


class Command(BaseCommand):
    help = "Create an agent, mint it CREDITS, and print it as JSON with its API token (shown only here)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--credits", type=int, default=0)

    def handle(self, *args, name: str, credits: int, **options) -> None:
        try:
            agent, issued = services.create_agent(name=name, credits=credits)
        except errors.DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        self.stdout.write(json.dumps({"id": agent.id, "name": agent.name, "balance": credits, "token": issued.raw}))
