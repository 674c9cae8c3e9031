import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from attention.services import run_scripted_judge


class Command(BaseCommand):
    help = "Let the scripted judge (ATTENTION_JUDGE) score the queued executions now; print how many it scored."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=100)

    def handle(self, *args, limit: int, **options) -> None:
        if not settings.ATTENTION_JUDGE:
            raise CommandError("ATTENTION_JUDGE is empty: the queue is for human judges.")
        self.stdout.write(json.dumps({"scored": len(run_scripted_judge(limit=limit))}))
