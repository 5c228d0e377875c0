"""The Celery app of the batch tier (`celery -A config worker`). Broker: CELERY_BROKER_URL
(Redis by default, RabbitMQ works the same); no result backend — a job's state lives in the database.

Settings are Django's `CELERY_*` names (config/settings.py); tasks are found in each app's tasks.py.
"""

import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from jobs.worker import WorkerLife  # noqa: E402 (after DJANGO_SETTINGS_MODULE)

app = Celery("cutout")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _model_load(**_kwargs) -> None:
    """Each worker process loads the model once, before its first item (not per task)."""
    from django.conf import settings

    from removal.segment import warm_up

    warm_up(settings.REMBG_MODEL)


# The worker's heartbeat and its start-up take-back of orphaned tasks (jobs.worker). A bootstep, not
# signals: it starts before the consumer takes a task, and stops on a warm and a cold shutdown alike.
app.steps["worker"].add(WorkerLife)


@worker_init.connect
def _solver_load(**_kwargs) -> None:
    """The matting solver's numba code (removal.jit), loaded and run once in the main process before
    it forks: every prefork child inherits it. Loading it in each child took longer, on a busy
    machine, than Celery waits for a new child to come up (worker_proc_alive_timeout, 4 s), so a
    child replacing a killed one was killed in turn (tests/jobs/test_worker_killed.py)."""
    from removal.refine import refine_warm_up

    refine_warm_up()
