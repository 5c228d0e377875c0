"""Delete editor jobs and cut-out reports (database rows and stored files) older than EDITOR_RETENTION_DAYS.

Run it daily from cron or a scheduler: `python manage.py editor_purge`.
"""

from django.core.management.base import BaseCommand

from cutouts.reports import reports_purge
from editor.services import jobs_purge


class Command(BaseCommand):
    help = "Delete editor jobs and their files older than the retention period."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=None,
                            help="Override EDITOR_RETENTION_DAYS for this run.")

    def handle(self, *args, days=None, **options) -> None:
        purged = jobs_purge(days=days)
        reports = reports_purge(days=days)  # reports of bad cut-outs follow the same retention
        self.stdout.write(f"Purged {purged} editor job(s) and {reports} cut-out report(s).")
