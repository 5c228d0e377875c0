"""The Celery app of the batch tier (`celery -A config worker`). Broker: CELERY_BROKER_URL
(Redis by default, RabbitMQ works the same); no result backend — a job's state lives in the database.

Settings are Django's `CELERY_*` names (config/settings.py); tasks are found in each app's tasks.py.
"""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cutout")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _model_load(**_kwargs) -> None:
    """Each worker process loads the model and the matting solver once, before its first item."""
    from django.conf import settings

    from removal.refine import refine_warm_up
    from removal.segment import warm_up

    warm_up(settings.REMBG_MODEL)
    refine_warm_up()
