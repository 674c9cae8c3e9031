"""``manage.py add_judge NAME``: make NAME a judge, creating the user (with a password) when it does not exist."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from attention.services import add_judge

PASSWORD_ENV = "BP_JUDGE_PASSWORD"  # noqa: S105 - the name of a variable, not a password


class Command(BaseCommand):
    help = (
        "Make a user a judge (member of the 'judges' group, admin access, never a superuser), creating the user when "
        f"needed. The password comes from --password-file, else ${PASSWORD_ENV}, else a prompt; an existing user "
        "keeps theirs unless one is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password-file", help="Read the password from the first line of this file.")
        parser.add_argument("--email", default="", help="E-mail of a new user.")
        parser.add_argument(
            "--no-input", action="store_true", help="Never prompt (fail when a new user has no password)."
        )

    def _password(self, *, options, required: bool) -> str | None:
        if options["password_file"]:
            try:
                lines = Path(options["password_file"]).read_text().splitlines()
            except OSError as exc:
                raise CommandError(f"Cannot read the password file: {exc}") from exc
            return lines[0] if lines else ""
        if os.environ.get(PASSWORD_ENV):
            return os.environ[PASSWORD_ENV]
        if not required:
            return None
        if options["no_input"] or not self.stdin_is_tty():
            raise CommandError(f"A new judge needs a password: --password-file FILE or ${PASSWORD_ENV}.")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords differ.")
        return first

    def stdin_is_tty(self) -> bool:
        import sys

        return sys.stdin.isatty()

    def handle(self, *args, username: str, **options) -> None:
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        password = self._password(options=options, required=user is None)
        if password is not None:
            if not password:
                raise CommandError("The password is empty.")
            try:
                validate_password(password, user=user)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        with transaction.atomic():
            created = user is None
            if created:
                user = User.objects.create_user(username=username, email=options["email"], password=password)
            elif password is not None:
                user.set_password(password)
                user.save(update_fields=["password"])
            add_judge(user=user)
        login = reverse("admin:login")
        queue = reverse("admin:attention_humanreward_review")
        base = getattr(settings, "BP_PUBLIC_URL", "").rstrip("/")
        self.stdout.write(
            f"{username} is a judge ({'new user' if created else 'existing user'}"
            f"{', password set' if password is not None and not created else ''}).\n"
            f"Log in at {base}{login} ; the review queue is {base}{queue} (digits 0-9 pick a score, Enter submits)."
        )
