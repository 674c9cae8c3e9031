import json

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from evolution.services import create_genesis_agent


class Command(BaseCommand):
    help = "Create the genesis agent (minted endowment, the genesis program, a first bid) and print its id."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", default="genesis")
        parser.add_argument("--endowment", type=int, default=None, help="Default: GENESIS_ENDOWMENT.")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the genesis program's own randomness.")
        parser.add_argument("--code", help="A program file to use instead of the genesis program.")

    def handle(self, *args, name: str, endowment: int | None, seed: int, code: str | None, **options) -> None:
        files = None
        if code:
            with open(code, "rb") as handle:
                files = {"agent.py": handle.read()}
        try:
            agent = create_genesis_agent(name=name, endowment=endowment, seed=seed, files=files)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        self.stdout.write(json.dumps({"id": agent.id, "name": agent.name, "balance": agent.account.balance}))
