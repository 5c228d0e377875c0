import time

from django.core.management.base import BaseCommand

from billing.sweep import reservations_sweep


class Command(BaseCommand):
    help = "Refund credit reservations that were never committed (their worker died) after the timeout."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=int, default=0, metavar="SECONDS",
                            help="keep running, sweeping every SECONDS (default: sweep once)")

    def handle(self, *args, loop: int = 0, **options):
        while True:
            refunded = reservations_sweep()
            self.stdout.write(f"refunded {refunded} expired reservations")
            if not loop:
                return
            time.sleep(loop)
