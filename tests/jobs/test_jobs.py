"""POST/GET/DELETE /api/jobs with a real Celery worker: one credit per delivered item, none for a
failure or a cancelled item; results behind signed expiring links; retention purge."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.models import LedgerEntry
from jobs.models import BatchJob, Item
from tests.jobs.conftest import submit, uploads, wait_final, worker_running

MONTHLY_LIMIT = "You've reached your monthly limit. Consider purchasing more credits."


def charged(user) -> int:
    return LedgerEntry.objects.filter(user=user, kind="charge", state="committed").count()


def test_it_runs_a_job_on_the_worker_and_charges_one_credit_per_item(client, alice, api_key_for, worker):
    key = api_key_for(alice)
    response = submit(client, key, uploads(5), format="png")
    assert response.status_code == 202
    job = response.json()
    assert job["id"].startswith("job_") and job["status"] in ("queued", "running")
    assert [item["index"] for item in job["items"]] == [0, 1, 2, 3, 4]
    assert urlsplit(job["status_url"]).path == f"/api/jobs/{job['id']}"
    done = wait_final(client, key, job["id"])
    assert done["status"] == "done"
    assert charged(alice) == 5
    first = done["items"][0]
    assert (first["content_type"], first["width"], first["height"]) == ("image/png", 40, 32)
    result = client.get(urlsplit(first["url"]).path)
    assert result.status_code == 200
    body = b"".join(result.streaming_content)
    assert body.startswith(b"\x89PNG") and len(body) == first["bytes"]
    from jobs.metrics import BATCH_ITEM_SECONDS  # observed by the worker (in this process here)

    assert BATCH_ITEM_SECONDS.labels(outcome="done")._sum.get() > 0


def test_it_fails_the_items_past_the_last_credit_and_charges_only_the_delivered(
        client, alice, api_key_for, worker, jobs_settings):
    from billing.plans import plans_parse

    jobs_settings.BILLING_PLANS = plans_parse(
        '[{"slug": "free", "label": "Free", "credits": 3, "rate_limit": "100/minute"}]', environ={})
    key = api_key_for(alice)
    job = wait_final(client, key, submit(client, key, uploads(5)).json()["id"])
    assert job["status"] == "partial"
    # in submission order unless a task was retried (SQLite's shared-cache test database can refuse
    # a write now and then); either way three are delivered and two refused
    assert sorted(item["status"] for item in job["items"]) == ["done"] * 3 + ["failed"] * 2
    assert [item["error"] for item in job["items"] if item["status"] == "failed"] == [
        {"error": MONTHLY_LIMIT, "status": 429}] * 2
    assert charged(alice) == 3
    assert not LedgerEntry.objects.filter(user=alice, kind="charge", state="reserved").exists()


def test_it_cancels_the_items_not_started_and_charges_nothing_for_them(client, alice, api_key_for,
                                                                       worker_elsewhere):
    key = api_key_for(alice)  # no worker here: every item stays queued
    job = submit(client, key, uploads(3)).json()
    response = client.delete(f"/api/jobs/{job['id']}", headers={"x-api-key": key})
    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert {item["status"] for item in cancelled["items"]} == {"cancelled"}
    assert charged(alice) == 0 and not LedgerEntry.objects.filter(user=alice).exists()


def test_it_hides_other_users_jobs(client, alice, bob, api_key_for, worker_elsewhere):
    job = submit(client, api_key_for(alice), uploads(1)).json()
    bob_key = api_key_for(bob)
    for method in (client.get, client.delete):
        response = method(f"/api/jobs/{job['id']}", headers={"x-api-key": bob_key})
        assert (response.status_code, response.json()) == (404, {"error": "Job not found", "status": 404})
    assert client.get("/api/jobs", headers={"x-api-key": bob_key}).json()["jobs"] == []
    assert Item.objects.filter(job_id=job["id"], status="queued").count() == 1


def test_it_refuses_anonymous_callers(client, db):
    for response in (client.post("/api/jobs", {"image": uploads(1)}), client.get("/api/jobs"),
                     client.get("/api/jobs/job_x"), client.delete("/api/jobs/job_x")):
        assert response.status_code == 401
        assert response.json()["status"] == 401


def test_it_checks_every_file_and_field_before_accepting(client, alice, api_key_for):
    files = uploads(3)
    files[1] = files[1].__class__("notes.txt", b"hello", content_type="text/plain")
    files[2] = files[2].__class__("empty.png", b"", content_type="image/png")
    response = submit(client, api_key_for(alice), files, format="tiff", callback_url="http://example.com/x")
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "image[1]", "message": "File type '.txt' is not supported. Allowed formats: webp, bmp, png, jpg, jpeg"},
        {"field": "image[2]", "message": "Uploaded file is empty (0 bytes)."},
        {"field": "format", "message": "Invalid format 'tiff'. Allowed formats: PNG, JPEG, WEBP, BMP"},
        {"field": "callback_url", "message": "'callback_url' must be an https:// URL"},
    ]
    assert not BatchJob.objects.exists()


def test_it_refuses_a_job_without_images_or_with_too_many(client, alice, api_key_for, jobs_settings):
    key = api_key_for(alice)
    response = client.post("/api/jobs", {"format": "png"}, headers={"x-api-key": key})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "image"
    jobs_settings.JOBS_MAX_ITEMS = 2
    response = submit(client, key, uploads(3))
    assert response.json() == {"error": "Too many images: at most 2 per job, got 3.",
                               "details": [{"field": "image", "message": "Too many images: at most 2 per job, got 3."}],
                               "status": 400}


@pytest.mark.parametrize(("url", "message"), [
    ("https://127.0.0.1/hook", "callback_url points to a loopback address (127.0.0.1), which is not allowed."),
    ("http://169.254.169.254/", "callback_url points to a link-local address (169.254.169.254), which is not allowed."),
])
def test_it_refuses_a_callback_to_an_internal_address_and_names_it(client, alice, api_key_for, jobs_settings,
                                                                   url, message):
    jobs_settings.JOBS_CALLBACK_HTTP_HOSTS = []
    response = submit(client, api_key_for(alice), uploads(1), callback_url=url)
    assert response.json() == {"error": message, "details": [{"field": "callback_url", "message": message}],
                               "status": 400}


def test_it_lists_jobs_newest_first_with_pages(client, alice, api_key_for, jobs_settings, worker_elsewhere):
    jobs_settings.JOBS_PAGE_SIZE = 2
    key = api_key_for(alice)
    ids = [submit(client, key, uploads(1)).json()["id"] for _ in range(3)]
    first = client.get("/api/jobs", headers={"x-api-key": key}).json()
    second = client.get("/api/jobs?page=2", headers={"x-api-key": key}).json()
    assert [job["id"] for job in first["jobs"] + second["jobs"]] == ids[::-1]
    assert (first["pages"], first["total"], first["jobs"][0]["counts"]["queued"]) == (2, 3, 1)


def test_it_refuses_a_tampered_or_expired_result_link(client, alice, api_key_for, worker, jobs_settings):
    key = api_key_for(alice)
    job = wait_final(client, key, submit(client, key, uploads(1)).json()["id"])
    path = urlsplit(job["items"][0]["url"]).path
    assert client.get(path[:-2] + "xx").status_code == 403
    jobs_settings.JOBS_RESULT_URL_MAX_AGE = -1
    response = client.get(path)
    assert response.status_code == 403 and response.json()["status"] == 403


def test_it_purges_jobs_past_retention_with_their_files(client, alice, api_key_for, worker, jobs_settings):
    key = api_key_for(alice)
    old = wait_final(client, key, submit(client, key, uploads(2)).json()["id"])
    fresh = submit(client, key, uploads(1)).json()
    wait_final(client, key, fresh["id"])
    BatchJob.objects.filter(pk=old["id"]).update(created=timezone.now() - timedelta(hours=25))
    media = Path(jobs_settings.MEDIA_ROOT)
    old_files = [path for path in media.rglob("*") if old["id"] in str(path) and path.is_file()]
    assert len(old_files) == 4  # two uploads, two results
    call_command("batch_purge")
    assert not BatchJob.objects.filter(pk=old["id"]).exists() and not Item.objects.filter(job_id=old["id"]).exists()
    assert not any(path.exists() for path in old_files)
    assert BatchJob.objects.filter(pk=fresh["id"]).exists()


def test_it_shows_the_batch_queue_in_metrics(client, alice, api_key_for, settings, worker_elsewhere):
    settings.METRICS_TOKEN = "metrics-secret"
    submit(client, api_key_for(alice), uploads(3))  # no worker here: all three wait
    text = client.get("/metrics", headers={"Authorization": "Bearer metrics-secret"}).content.decode()
    assert 'cutout_batch_items{status="queued"} 3.0' in text
    assert 'cutout_batch_items{status="running"} 0.0' in text


@pytest.fixture
def broker_down(redis_client, private_redis, settings, monkeypatch):
    """The Celery app publishing to a Redis this test has stopped (credits stay on the test's Redis)."""
    from config.celery import app

    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery reads it before app.conf.broker_url

    test_redis = redis_client.connection_pool.connection_kwargs

    def pool_reset():  # kombu's global pools, the app's, and the producer pool built on them
        from kombu import pools

        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    settings.REDIS_URL = f"redis://{test_redis['host']}:{test_redis['port']}/{test_redis['db']}"
    saved = app.conf.broker_url
    app.conf.broker_url = private_redis.url
    pool_reset()
    private_redis.stop()
    yield
    app.conf.broker_url = saved
    pool_reset()


def test_it_answers_503_and_keeps_nothing_when_the_broker_is_down(client, alice, api_key_for, worker_elsewhere,
                                                                   broker_down, jobs_settings):
    response = submit(client, api_key_for(alice), uploads(2))
    assert response.status_code == 503
    assert response.json() == {"error": "Service temporarily unavailable, please retry shortly.", "status": 503}
    assert response["Retry-After"] == "5"
    assert not BatchJob.objects.exists() and not Item.objects.exists()
    assert not [path for path in Path(jobs_settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def test_it_retries_an_item_whose_source_file_is_gone_then_fails_it_without_a_charge(
        client, alice, api_key_for, transactional_db, jobs_settings, worker_elsewhere):
    jobs_settings.JOBS_ITEM_RETRY_BACKOFF = 0.01
    key = api_key_for(alice)
    job = submit(client, key, uploads(2)).json()
    # lost before a worker could read it (the storage failed): not an error of the image or the account
    Path(jobs_settings.MEDIA_ROOT, Item.objects.get(job_id=job["id"], index=1).source).unlink()
    with worker_running(jobs_settings):
        final = wait_final(client, key, job["id"])
    assert [item["status"] for item in final["items"]] == ["done", "failed"]
    assert final["items"][1]["error"] == {"error": "Image processing failed", "status": 500}
    assert final["status"] == "partial" and charged(alice) == 1


def test_the_answer_status_agrees_with_its_item_counts(client, alice, api_key_for, worker_elsewhere):
    """A worker may start an item before the 202 is written: status and counts come from the same rows."""
    response = submit(client, api_key_for(alice), uploads(2))
    job = BatchJob.objects.get(pk=response.json()["id"])
    Item.objects.filter(job=job, index=0).update(status=Item.Status.RUNNING)  # as a fast worker would
    view = client.get(f"/api/jobs/{job.pk}", headers={"x-api-key": api_key_for(alice)}).json()
    assert (view["status"], view["counts"]["running"]) == ("running", 1)
