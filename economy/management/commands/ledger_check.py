from django.core.management.base import BaseCommand, CommandError

from economy.selectors import ledger_violations


class Command(BaseCommand):
    help = "Verify the ledger: conservation, no negative agent balance, balances equal their transfer history."

    def handle(self, *args, **options) -> None:
        problems = ledger_violations()
        if problems:
            raise CommandError(f"ledger check failed: {problems[0]} ({len(problems)} violation(s) in all)")
        self.stdout.write("ledger ok")
