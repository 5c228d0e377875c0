"""The batch tier's health from outside: a worker's heartbeat in the real Redis, read by GET /healthz
and by POST /api/jobs (503 + Retry-After when nobody would run the job, nothing stored or charged)."""

import time
from pathlib import Path

from billing.models import LedgerEntry
from core.worker_heartbeat import STALE_AFTER, heartbeat_beat
from jobs.models import BatchJob, Item
from tests.jobs.conftest import submit, uploads, worker_running

UNAVAILABLE = {"error": "Service temporarily unavailable, please retry shortly.", "status": 503}


def test_it_refuses_a_job_with_503_when_no_worker_is_alive(client, alice, api_key_for, jobs_settings):
    heartbeat_beat(name="dead@test", now=time.time() - STALE_AFTER - 1)  # SIGKILLed 21 s ago
    response = submit(client, api_key_for(alice), uploads(2))
    assert (response.status_code, response.json(), response["Retry-After"]) == (503, UNAVAILABLE, "5")
    assert not BatchJob.objects.exists() and not Item.objects.exists() and not LedgerEntry.objects.exists()
    assert not [path for path in Path(jobs_settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def test_it_still_says_what_is_wrong_with_the_request_first(client, alice, api_key_for):
    response = submit(client, api_key_for(alice), uploads(1), format="tiff")  # and no worker
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "format", "message": "Invalid format 'tiff'. Allowed formats: PNG, JPEG, WEBP, BMP"}]


def test_a_real_worker_is_seen_while_it_runs_and_gone_as_soon_as_it_stops(client, alice, api_key_for,
                                                                          redis_client, transactional_db,
                                                                          jobs_settings):
    assert client.get("/healthz").json()["worker"] == "none alive"
    with worker_running(jobs_settings):
        health = client.get("/healthz")
        assert (health.status_code, health.json()["worker"]) == (200, "ok")
        assert submit(client, api_key_for(alice), uploads(1)).status_code == 202
    health = client.get("/healthz")  # a clean stop removes the heartbeat at once
    assert (health.status_code, health.json()["status"], health.json()["worker"]) == (200, "ok", "none alive")
    assert submit(client, api_key_for(alice), uploads(1)).status_code == 503
