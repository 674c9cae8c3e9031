"""``manage.py setup_stack``: what the distributed stack needs before its processes start (``make stack`` runs it).

Idempotent: migrations, static files, the genesis agent when nobody lives, an operator account and a sandbox worker
token. Secrets are shown once: the operator's password (when it was generated) on the console, the worker token in
a file readable only by its owner (``--token-file``), reused on the next start.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from economy.models import Agent
from evolution.services import create_genesis_agent
from sandbox import services as sandbox
from sandbox.models import WorkerToken

OPERATOR_PASSWORD_ENV = "BP_OPERATOR_PASSWORD"  # noqa: S105 - the name of a variable, not a password


class Command(BaseCommand):
    help = "Prepare the distributed stack: migrate, collect static files, genesis, operator account, worker token."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--operator", default=os.environ.get("BP_OPERATOR", "operator"), help="Operator user.")
        parser.add_argument("--worker-name", required=True, help="Name of this stack's sandbox worker token.")
        parser.add_argument("--token-file", required=True, help="Where the worker token is kept (mode 0600).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the genesis program.")
        parser.add_argument("--no-genesis", action="store_true", help="Do not create the genesis agent.")

    def handle(self, *args, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self._operator(options["operator"])
        if not options["no_genesis"] and not Agent.objects.filter(status=Agent.Status.ALIVE).exists():
            agent = create_genesis_agent(seed=options["seed"])
            self.stdout.write(f"setup: genesis agent #{agent.id} created")
        name = self._worker_token(options["worker_name"], Path(options["token_file"]))
        self.stdout.write(f"setup: sandbox worker {name!r} (token in {options['token_file']})")

    def _operator(self, username: str) -> None:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"setup: operator {username!r} exists")
            return
        password = os.environ.get(OPERATOR_PASSWORD_ENV) or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        if os.environ.get(OPERATOR_PASSWORD_ENV):
            self.stdout.write(f"setup: operator {username!r} created with the password from ${OPERATOR_PASSWORD_ENV}")
        else:
            self.stdout.write(
                f"setup: operator {username!r} created; password (shown once): {password}\n"
                "       change it in the admin, or set $BP_OPERATOR_PASSWORD before the first start"
            )

    def _worker_token(self, name: str, path: Path) -> str:
        """Reuse the token in ``path`` when its worker still has one; otherwise issue one (``name``, or ``name-2``
        … when an older stack's token holds the name) and keep it in ``path``. Returns the token's name."""
        if path.exists():
            stored = path.read_text().split()
            if len(stored) == 2 and WorkerToken.objects.filter(name=stored[0], revoked_at__isnull=True).exists():
                return stored[0]
        taken = set(WorkerToken.objects.filter(name__startswith=name).values_list("name", flat=True))
        chosen = next(c for c in [name, *(f"{name}-{n}" for n in range(2, 10_000))] if c not in taken)
        if len(chosen) > 100:
            raise CommandError("The worker name is too long (100 characters at most).")
        _token, raw = sandbox.issue_worker_token(name=chosen)
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR), "w") as out:
            out.write(f"{chosen} {raw}\n")
        return chosen
