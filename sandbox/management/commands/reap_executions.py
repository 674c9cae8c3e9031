from django.core.management.base import BaseCommand

from sandbox import services


class Command(BaseCommand):
    help = "Mark running executions whose worker stopped renewing the lease as LOST (refunding what they paid)."

    def handle(self, *args, **options) -> None:
        lost = services.reap_lost_executions()
        self.stdout.write(f"{len(lost)} execution(s) marked LOST" + (f": {lost}" if lost else ""))
