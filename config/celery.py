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
    """Each worker process loads the model once, before its first item (not per task), then warms the
    matting solver on a thread (config.startup) while it takes items. The solver used to be loaded in
    the main process before forking: a second before the worker's first heartbeat on every start.
    Loading it synchronously in each child took longer, on a busy machine, than a new child was
    given to come up; on a thread it is off that path too (tests/jobs/test_worker_killed.py)."""
    from django.conf import settings

    from config.startup import solver_warm_up_start
    from removal.segment import session_warm_up

    session_warm_up(settings.REMBG_MODEL)
    solver_warm_up_start()


@worker_init.connect
def _model_load_threads(sender=None, **_kwargs) -> None:
    """`--pool threads` (and solo) run tasks in the main process, where no worker_process_init comes
    for threads: the model is loaded there, once, before the pool starts (prefork forks after this,
    so it must not load the model here: the children load their own)."""
    if "thread" in str(getattr(sender, "pool_cls", "")).lower():
        _model_load()


# The worker's heartbeat and its start-up take-back of orphaned tasks (jobs.worker). A bootstep, not
# signals: it starts before the consumer takes a task, and stops on a warm and a cold shutdown alike.
app.steps["worker"].add(WorkerLife)
