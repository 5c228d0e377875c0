"""Delete the stored answers of Idempotency-Keys older than IDEMPOTENCY_TTL (24 h by default).

Run it daily next to `editor_purge`: `python manage.py idempotency_purge`.
"""

from django.core.management.base import BaseCommand

from api.idempotency import idempotency_purge


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key answers whose 24 h have passed."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"Purged {idempotency_purge()} stored answer(s).")
