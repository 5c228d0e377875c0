"""Delete batch jobs (rows, uploaded images and results) older than JOBS_RETENTION_HOURS.

Run it hourly from cron or a scheduler: `python manage.py batch_purge`.
"""

from django.core.management.base import BaseCommand

from jobs.services import jobs_purge


class Command(BaseCommand):
    help = "Delete batch jobs and their files older than the retention period."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--hours", type=int, default=None,
                            help="Override JOBS_RETENTION_HOURS for this run.")

    def handle(self, *args, hours=None, **options) -> None:
        self.stdout.write(f"Purged {jobs_purge(hours=hours)} batch job(s).")
