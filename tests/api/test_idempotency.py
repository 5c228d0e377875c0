"""Idempotency-Key on POST /rmbg (SPEC §7): replays, conflicts, and one charge under concurrency."""

import concurrent.futures
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.idempotency import idempotency_purge
from billing.models import LedgerEntry
from tests import live
from tests.api.multipart import form_data_body
from tests.jobs.conftest import jobs_settings, worker  # noqa: F401  (a live Celery worker)

IN_USE = "A request with this Idempotency-Key is still being processed. Retry once it has finished."
REUSED = "This Idempotency-Key was already used with a different request. Use a new key for a new request."


def post(client, image: bytes, *, key: str, idem: str | None, fields=(), accept=None):
    body, ctype = form_data_body(list(fields), [("image", "photo.jpg", image, "image/jpeg")])
    headers = {"x-api-key": key}
    if idem is not None:
        headers["Idempotency-Key"] = idem
    if accept:
        headers["Accept"] = accept
    return client.generic("POST", "/rmbg", body, content_type=ctype, headers=headers)


def charges(user) -> int:
    return LedgerEntry.objects.filter(user=user, kind="charge").count()


def api_usage(redis_client, user) -> int:
    now = datetime.now(UTC)
    return int(redis_client.get(f"user:{user.id}:api_usage:{now.year}:{now.month}") or 0)


@pytest.mark.django_db
def test_it_replays_a_completed_request_byte_for_byte(client, alice, api_key_for, photo_jpeg, redis_client):
    key = api_key_for(alice)
    first = post(client, photo_jpeg, key=key, idem="order-42", fields=[("format", "png")])
    again = post(client, photo_jpeg, key=key, idem="order-42", fields=[("format", "png")])
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    for header in ("Content-Type", "X-Credits-Charged", "X-Width", "X-Height", "RateLimit-Remaining"):
        assert again[header] == first[header]
    assert charges(alice) == 1
    assert api_usage(redis_client, alice) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("change", [{"fields": [("format", "webp")]}, {"image": b"other"}, {"accept": "application/json"}])
def test_it_refuses_the_same_key_for_another_request(client, alice, api_key_for, photo_jpeg, change):
    key = api_key_for(alice)
    assert post(client, photo_jpeg, key=key, idem="k1", fields=[("format", "png")]).status_code == 200
    image = photo_jpeg + change.get("image", b"")
    response = post(client, image, key=key, idem="k1", fields=change.get("fields", [("format", "png")]),
                    accept=change.get("accept"))
    assert response.status_code == 422
    assert response.json() == {"error": REUSED, "status": 422}
    assert charges(alice) == 1


@pytest.mark.django_db
def test_it_scopes_keys_to_the_caller(client, alice, bob, api_key_for, photo_jpeg):
    post(client, photo_jpeg, key=api_key_for(alice), idem="shared-name")
    response = post(client, photo_jpeg, key=api_key_for(bob), idem="shared-name")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert (charges(alice), charges(bob)) == (1, 1)


@pytest.mark.django_db
def test_it_does_not_keep_a_failed_answer(client, alice, api_key_for):
    key = api_key_for(alice)
    first = post(client, b"not an image", key=key, idem="k2")
    again = post(client, b"not an image", key=key, idem="k2")
    assert first.status_code == again.status_code == 400
    assert "Idempotent-Replayed" not in again


@pytest.mark.django_db
@pytest.mark.parametrize("idem", ["", "x" * 256])
def test_it_refuses_an_empty_or_overlong_key(client, alice, api_key_for, photo_jpeg, idem):
    response = post(client, photo_jpeg, key=api_key_for(alice), idem=idem)
    assert response.status_code == 400
    assert response.json()["error"] == f"Idempotency-Key must be 1 to 255 characters long, got {len(idem)}."
    assert charges(alice) == 0


@pytest.fixture
def live_api(transactional_db):
    with live.asgi_server(websockets=False) as base_url:
        yield base_url


def test_it_charges_once_for_ten_concurrent_identical_requests(live_api, alice, api_key_for, photo_jpeg,
                                                                redis_client):
    key = api_key_for(alice)
    body, ctype = form_data_body([("format", "png")], [("image", "photo.jpg", photo_jpeg, "image/jpeg")])
    headers = {"x-api-key": key, "Idempotency-Key": "burst-1", "Content-Type": ctype}

    def send(_):
        return httpx.post(f"{live_api}/rmbg", content=body, headers=headers, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(send, range(10)))
    fresh = [r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r.headers]
    replays = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    in_use = [r for r in responses if r.status_code == 409]
    assert len(fresh) == 1
    assert len(fresh) + len(replays) + len(in_use) == 10, [r.status_code for r in responses]
    assert all(r.content == fresh[0].content for r in replays)
    assert all(r.json() == {"error": IN_USE, "status": 409} and r.headers["Retry-After"] for r in in_use)
    assert charges(alice) == 1
    assert api_usage(redis_client, alice) == 1

    retry = send(0)  # after completion: the first answer again, byte for byte
    assert (retry.status_code, retry.headers["Idempotent-Replayed"]) == (200, "true")
    assert retry.content == fresh[0].content
    assert charges(alice) == 1


@pytest.mark.django_db
def test_it_purges_stored_answers_after_the_ttl(client, alice, api_key_for, photo_jpeg, settings):
    post(client, photo_jpeg, key=api_key_for(alice), idem="old")
    assert idempotency_purge() == 0
    later = datetime.now(UTC) + timedelta(seconds=settings.IDEMPOTENCY_TTL + 7200)
    assert idempotency_purge(now=later) == 2  # the answer and the original kept for a report


def test_it_answers_409_while_the_first_request_runs(live_api, alice, api_key_for, photo_jpeg, settings):
    """The first request is held up by a slow image_url download; its twin arrives meanwhile."""
    from tests.api.servers import image_server

    settings.IMAGE_URL_ALLOW_NETWORKS = ["127.0.0.1/32"]
    key = api_key_for(alice)
    with image_server({"/photo.jpg": (photo_jpeg, "image/jpeg")}) as (images, log):
        body, ctype = form_data_body([("image_url", f"{images}/slow?s=2")], [])
        headers = {"x-api-key": key, "Idempotency-Key": "slow-1", "Content-Type": ctype}
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(httpx.post, f"{live_api}/rmbg", content=body, headers=headers, timeout=60)
            while not log:  # the first request is downloading now
                time.sleep(0.02)
            twin = httpx.post(f"{live_api}/rmbg", content=body, headers=headers, timeout=60)
            assert first.result().status_code == 200
    assert (twin.status_code, twin.json()["error"], twin.headers["Retry-After"]) == (409, IN_USE, "1")
    assert len(log) == 1  # the twin downloaded nothing
    assert charges(alice) == 1


def test_a_key_used_on_rmbg_does_not_replay_on_jobs(client, alice, api_key_for, photo_jpeg, worker):  # noqa: F811
    """SPEC §7: records are per operation. The same key and the same form sent to /rmbg and then to
    /api/jobs runs both: the second is a job (202), not /rmbg's image replayed."""
    key = api_key_for(alice)
    first = post(client, photo_jpeg, key=key, idem="shared-1")
    assert first.status_code == 200 and first["Content-Type"] == "image/webp"
    body, ctype = form_data_body([], [("image", "photo.jpg", photo_jpeg, "image/jpeg")])
    second = client.generic("POST", "/api/jobs", body, content_type=ctype,
                            headers={"x-api-key": key, "Idempotency-Key": "shared-1"})
    assert second.status_code == 202, second.content[:200]
    assert "Idempotent-Replayed" not in second
    assert second.json()["object"] == "job"
