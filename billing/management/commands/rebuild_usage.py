from django.core.management.base import BaseCommand

from billing.rebuild import usage_rebuild


class Command(BaseCommand):
    help = "Restore billing's Redis counters, prepaid balances and plan state from the database ledger."

    def handle(self, *args, **options):
        stats = usage_rebuild()
        self.stdout.write(
            f"restored {stats['counters']} usage counters, {stats['prepaid']} prepaid balances, "
            f"{stats['accounts']} accounts"
        )
