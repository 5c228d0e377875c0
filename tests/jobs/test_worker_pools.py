"""A worker with `--pool threads` (one process, one model, several items at once: the pipeline's
own stages overlap them, as for /rmbg) loads its model when it starts, as prefork children do."""

import pytest

from billing.models import LedgerEntry
from tests.jobs.conftest import submit, uploads, wait_final

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_threads_pool_worker_loads_the_model_at_start_and_runs_items_side_by_side(
        client, alice, api_key_for, redis_client, jobs_settings, monkeypatch):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from removal import segment

    monkeypatch.setattr(segment, "_sessions", {})  # as in a new process: no model loaded yet
    app.conf.broker_url = jobs_settings.CELERY_BROKER_URL
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING",
                      shutdown_timeout=20):
        assert list(segment._sessions) == [jobs_settings.REMBG_MODEL]  # before any item arrived
        key = api_key_for(alice)
        response = submit(client, key, uploads(4), format="png")
        assert response.status_code == 202
        done = wait_final(client, key, response.json()["id"])
    assert done["status"] == "done"
    assert [item["status"] for item in done["items"]] == ["done"] * 4
    assert LedgerEntry.objects.filter(user=alice, kind="charge", state="committed").count() == 4
