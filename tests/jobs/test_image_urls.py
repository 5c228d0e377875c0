"""POST /api/jobs with `image_url` items (downloaded by the worker through the one SSRF-safe fetcher)
and with an Idempotency-Key (a retry gets the same job, never a second one)."""

import pytest

from billing.models import LedgerEntry
from jobs.models import BatchJob
from tests.api.servers import image_server
from tests.jobs.conftest import png, submit, uploads, wait_final


def charged(user) -> int:
    return LedgerEntry.objects.filter(user=user, kind="charge", state="committed").count()


@pytest.fixture
def pictures():
    with image_server({"/a.png": (png(1), "image/png"), "/b.png": (png(2), "image/png")}) as (base, log):
        yield base, log


def test_it_downloads_url_items_on_the_worker_beside_uploaded_ones(
        client, alice, api_key_for, worker, pictures, settings):
    settings.IMAGE_URL_ALLOW_NETWORKS = ["127.0.0.1/32"]  # the test's own image server
    base, log = pictures
    key = api_key_for(alice)
    response = submit(client, key, uploads(1), image_url=[f"{base}/a.png", f"{base}/b.png"])
    assert response.status_code == 202, response.content
    assert [item["index"] for item in response.json()["items"]] == [0, 1, 2]
    job = wait_final(client, key, response.json()["id"])
    assert job["status"] == "done" and charged(alice) == 3
    assert sorted(entry.split()[-1] for entry in log) == ["/a.png", "/b.png"]  # by the worker, once each


def test_it_fails_a_private_url_item_at_no_cost_and_never_connects(
        client, alice, api_key_for, worker, pictures, settings):
    settings.IMAGE_URL_ALLOW_NETWORKS = []
    base, log = pictures
    key = api_key_for(alice)
    job = wait_final(client, key, submit(client, key, uploads(1), image_url=f"{base}/a.png").json()["id"])
    assert job["status"] == "partial"
    failed = job["items"][1]
    assert failed["status"] == "failed" and failed["error"]["status"] == 400
    assert "127.0.0.1" in failed["error"]["error"]
    assert log == [] and charged(alice) == 1


def test_it_refuses_a_url_of_the_wrong_form_at_submission(client, alice, api_key_for):
    response = submit(client, api_key_for(alice), uploads(1), image_url=["ftp://example.com/a.png"])
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "image_url[0]", "message": "image_url must be an http or https URL, got: 'ftp'"}]
    assert not BatchJob.objects.exists()


def test_it_answers_a_retry_with_the_same_idempotency_key_with_the_same_job(client, alice, api_key_for,
                                                                          worker_elsewhere):
    key = api_key_for(alice)
    files = uploads(2)
    first = client.post("/api/jobs", {"image": files}, headers={"x-api-key": key, "Idempotency-Key": "k-1"})
    for upload in files:
        upload.seek(0)
    again = client.post("/api/jobs", {"image": files}, headers={"x-api-key": key, "Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert BatchJob.objects.count() == 1
    other = client.post("/api/jobs", {"image": uploads(1)}, headers={"x-api-key": key, "Idempotency-Key": "k-1"})
    assert other.status_code == 422 and BatchJob.objects.count() == 1
