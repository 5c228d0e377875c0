"""Celery tasks of the batch tier; each is a thin shell around jobs.services.

`acks_late` + `reject_on_worker_lost`: a task is acknowledged only when it returns, so an item whose
worker was killed is delivered again (item_process is safe to repeat, and its charge is idempotent).
"""

from celery import shared_task
from django.conf import settings

from jobs import services

ITEM_RETRIES = 5  # a database or storage hiccup around the charged run: retried after 1, 2, 4, 8, 16 s


@shared_task(name=services.ITEM_TASK, bind=True, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True, max_retries=ITEM_RETRIES)
def item_run(self, item_id: int) -> None:
    """Errors of the image or the account settle the item inside item_process; anything else (the
    database, the storage) would leave it "running" for ever, so the task is retried, then the item
    is failed with "Image processing failed" (charged nothing: the charge is idempotent per item)."""
    try:
        services.item_process(item_id=item_id)
    except Exception as exc:
        if self.request.retries >= ITEM_RETRIES:
            services.item_abandon(item_id=item_id)
            raise
        wait = settings.JOBS_ITEM_RETRY_BACKOFF * 2 ** self.request.retries
        raise self.retry(exc=exc, countdown=wait) from exc


@shared_task(name=services.WEBHOOK_TASK, bind=True, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True, max_retries=None)
def webhook_deliver(self, job_id: str) -> None:
    """POST the job's event; on a non-2xx or no answer, retry with exponential backoff (same event id)."""
    wait = services.webhook_attempt(job_id=job_id)
    if wait is not None:
        raise self.retry(countdown=wait)
