"""POST /api/jobs/{id}/items/{index}/report over a live server (real sockets) and a real worker: the
item's upload and result reach the operators' queue; another user's job is not found; consent is
required; an image_url item is reported with its result and URL (its original was never stored)."""

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage

from cutouts.models import Report
from tests import live
from tests.api.servers import image_server
from tests.jobs.conftest import png, wait_final

CONSENT_MESSAGE = "Tick the box to agree to send this image and its cut-out to the operators."


@pytest.fixture
def live_api(transactional_db):
    with live.asgi_server(websockets=False) as base_url:
        yield base_url


@pytest.fixture
def operator(transactional_db):
    return get_user_model().objects.create_superuser("op", "op@example.com", "pw-for-operators")


def _done_job(client, base: str, key: str, **fields) -> dict:
    response = httpx.post(f"{base}/api/jobs", headers={"x-api-key": key}, data=fields,
                          files=[("image", ("shoe.png", png(3), "image/png"))], timeout=30)
    assert response.status_code == 202, response.text
    return wait_final(client, key, response.json()["id"])


def _report(base: str, key: str, job_id: str, index: int, **kwargs) -> httpx.Response:
    return httpx.post(f"{base}/api/jobs/{job_id}/items/{index}/report", headers={"x-api-key": key},
                      timeout=30, **kwargs)


def _stored(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def test_it_sends_the_items_upload_and_result_to_the_operators_queue(
        client, alice, bob, api_key_for, worker, live_api, operator):
    key = api_key_for(alice)
    job = _done_job(client, live_api, key)
    item = job["items"][0]
    assert item["status"] == "done"

    refused = _report(live_api, api_key_for(bob), job["id"], 0, data={"consent": "true"})
    assert (refused.status_code, refused.json()) == (404, {"error": "Job not found", "status": 404})
    missing = _report(live_api, key, job["id"], 7, data={"consent": "true"})
    assert (missing.status_code, missing.json()) == (404, {"error": "Item not found", "status": 404})
    for body in ({"data": {"note": "edges"}}, {"json": {"consent": False}}):
        no_consent = _report(live_api, key, job["id"], 0, **body)
        assert (no_consent.status_code, no_consent.json()) == (400, {"error": CONSENT_MESSAGE, "status": 400})
    assert not Report.objects.exists()

    response = _report(live_api, key, job["id"], 0, json={"consent": True, "note": " the laces are gone "})
    assert response.status_code == 201, response.text
    assert response.json() == {"id": response.json()["id"], "status": "received"}
    report = Report.objects.get(pk=response.json()["id"])
    assert (report.user, report.source, report.source_ref, report.note, report.original_name) == (
        alice, "batch", f"{job['id']}/0", "the laces are gone", "shoe.png")
    assert _stored(report.original) == png(3)
    result = client.get(httpx.URL(item["url"]).raw_path.decode())
    assert _stored(report.result) == b"".join(result.streaming_content)
    assert report.result_content_type == item["content_type"] and not report.mask

    client.force_login(operator)
    listing = client.get("/admin/cutouts/report/?source__exact=batch").content.decode()
    assert "shoe.png" in listing and "/admin/cutouts/report/add/" not in listing
    page = client.get(f"/admin/cutouts/report/{report.pk}/change/").content.decode()
    for kind in ("original", "result"):
        url = f"/admin/cutouts/report/{report.pk}/file/{kind}/"
        assert f'src="{url}"' in page
        served = client.get(url)
        assert served.status_code == 200
        assert b"".join(served.streaming_content) == _stored(getattr(report, kind))
    assert "/file/mask/" not in page  # a batch item keeps no mask


def test_it_reports_an_image_url_item_with_its_result_and_url(
        client, alice, api_key_for, worker, live_api, settings):
    settings.IMAGE_URL_ALLOW_NETWORKS = ["127.0.0.1/32"]  # the test's own image server
    key = api_key_for(alice)
    with image_server({"/cup.png": (png(5), "image/png")}) as (base, _log):
        response = httpx.post(f"{live_api}/api/jobs", headers={"x-api-key": key},
                              data={"image_url": f"{base}/cup.png"}, timeout=30)
        job = wait_final(client, key, response.json()["id"])
    assert job["items"][0]["status"] == "done"
    reported = _report(live_api, key, job["id"], 0, data={"consent": "on"})
    assert reported.status_code == 201, reported.text
    report = Report.objects.get(pk=reported.json()["id"])
    assert (report.original, report.original_url, report.original_name) == ("", f"{base}/cup.png", "cup.png")
    assert report.result_content_type == "image/webp" and _stored(report.result)[8:12] == b"WEBP"


def test_it_refuses_an_item_without_a_result(client, alice, api_key_for, worker_elsewhere, live_api):
    key = api_key_for(alice)
    response = httpx.post(f"{live_api}/api/jobs", headers={"x-api-key": key},
                          files=[("image", ("a.png", png(1), "image/png"))], timeout=30)
    queued = _report(live_api, key, response.json()["id"], 0, data={"consent": "true"})
    assert (queued.status_code, queued.json()["error"]) == (
        409, "There is no finished cut-out to report: only a delivered result can be reported.")


def test_it_refuses_a_test_keys_job(client, alice, api_key_for, worker, live_api):
    from accounts.services import api_key_create

    _key, test_key = api_key_create(user=alice, name="tests", is_test=True)
    job = _done_job(client, live_api, test_key)
    response = _report(live_api, test_key, job["id"], 0, data={"consent": "true"})
    assert response.status_code == 403
    assert response.json()["error"] == ("Cut-outs made with a test key cannot be reported. "
                                        "Report one made with a live key.")
