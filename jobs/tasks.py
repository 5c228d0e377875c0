"""Celery tasks of the batch tier; each is a thin shell around jobs.services.

`acks_late` + `reject_on_worker_lost`: a task is acknowledged only when it returns, so an item whose
worker was killed is delivered again (item_process is safe to repeat, and its charge is idempotent).
"""

from celery import shared_task

from jobs import services


@shared_task(name=services.ITEM_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def item_run(item_id: int) -> None:
    services.item_process(item_id=item_id)


@shared_task(name=services.WEBHOOK_TASK, bind=True, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True, max_retries=None)
def webhook_deliver(self, job_id: str) -> None:
    """POST the job's event; on a non-2xx or no answer, retry with exponential backoff (same event id)."""
    wait = services.webhook_attempt(job_id=job_id)
    if wait is not None:
        raise self.retry(countdown=wait)
