import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from sandbox import services


class Command(BaseCommand):
    help = (
        "Create an agent, mint it CREDITS, give it a program (--code FILE, else a tiny default one), and print it "
        "as JSON with its API token (shown only here)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--credits", type=int, default=0)
        parser.add_argument("--code", type=Path, help="the agent's program (its workspace's agent.py)")

    def handle(self, *args, name: str, credits: int, code: Path | None, **options) -> None:
        try:
            program = code.read_bytes() if code is not None else None
        except OSError as exc:
            raise CommandError(f"cannot read {code}: {exc}") from exc
        try:
            agent, issued = services.create_agent_with_program(name=name, credits=credits, code=program)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        self.stdout.write(json.dumps({"id": agent.id, "name": agent.name, "balance": credits, "token": issued.raw}))
