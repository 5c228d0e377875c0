# Django imports config first: the Celery app must exist then so that @shared_task binds to it.
from config.celery import app as celery_app

__all__ = ["celery_app"]
