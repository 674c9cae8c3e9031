"""manage.py build_runtime_image: build the agent runtime image if the current sources have none."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sandbox.image import ensure_runtime_image, runtime_image_tag


class Command(BaseCommand):
    help = (
        "Build the agent runtime image (bp-agent-runtime:<content hash>) unless it exists: from the Dockerfile "
        "where a registry is reachable, else offline (debootstrap + docker import). Prints the tag."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
        parser.add_argument("--print-tag", action="store_true", help="only print the tag for the current sources")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["print_tag"]:
            self.stdout.write(runtime_image_tag())
            return
        self.stdout.write(ensure_runtime_image(force=options["force"]))
