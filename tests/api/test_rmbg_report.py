"""POST /rmbg/report over a live server (real sockets): a /rmbg answer made with an Idempotency-Key is
reported by that key, its original and result copied for the operators; a key never used, or another
caller's, is not found; consent is required; test keys and anonymous callers cannot report."""

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.core.files.storage import default_storage

from accounts.services import api_key_create
from api.idempotency import idempotency_purge
from cutouts.models import Report
from tests import live

CONSENT_MESSAGE = "Tick the box to agree to send this image and its cut-out to the operators."
NOT_FOUND = ("No /rmbg result of yours with this Idempotency-Key. Results are kept 24 hours, and only "
             "for requests sent with an Idempotency-Key.")


@pytest.fixture
def live_api(transactional_db):
    with live.asgi_server(websockets=False) as base_url:
        yield base_url


def _rmbg(base: str, key: str, image: bytes, *, idem: str | None, accept: str | None = None) -> httpx.Response:
    headers = {"x-api-key": key} | ({"Idempotency-Key": idem} if idem else {}) | (
        {"Accept": accept} if accept else {})
    response = httpx.post(f"{base}/rmbg", headers=headers, data={"format": "png"},
                          files=[("image", ("astronaut.jpg", image, "image/jpeg"))], timeout=60)
    assert response.status_code == 200, response.text
    return response


def _report(base: str, key: str | None, **kwargs) -> httpx.Response:
    return httpx.post(f"{base}/rmbg/report", headers={"x-api-key": key} if key else {}, timeout=30, **kwargs)


def _stored(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def test_it_reports_an_answer_by_its_idempotency_key(live_api, alice, api_key_for, photo_jpeg):
    key = api_key_for(alice)
    answer = _rmbg(live_api, key, photo_jpeg, idem="order-7")
    no_consent = _report(live_api, key, data={"idempotency_key": "order-7", "note": "hair"})
    assert (no_consent.status_code, no_consent.json()) == (400, {"error": CONSENT_MESSAGE, "status": 400})
    assert not Report.objects.exists()

    response = _report(live_api, key, data={"idempotency_key": "order-7", "consent": "true", "note": "hair "})
    assert response.status_code == 201, response.text
    assert response.json() == {"id": response.json()["id"], "status": "received"}
    report = Report.objects.get(pk=response.json()["id"])
    assert (report.user, report.source, report.note, report.original_name) == (alice, "rmbg", "hair",
                                                                               "astronaut.jpg")
    assert report.source_ref and report.options == {"format": "png"}
    assert _stored(report.original) == photo_jpeg
    assert _stored(report.result) == answer.content and report.result_content_type == "image/png"
    assert report.original.startswith(f"reports/{report.pk}/") and report.original.endswith(".jpg")


def test_it_reports_a_json_answer_with_the_image_not_the_json(live_api, alice, api_key_for, photo_jpeg):
    key = api_key_for(alice)
    answer = _rmbg(live_api, key, photo_jpeg, idem="json-1", accept="application/json").json()["data"]
    response = _report(live_api, key, json={"idempotency_key": "json-1", "consent": True})
    assert response.status_code == 201, response.text
    report = Report.objects.get(pk=response.json()["id"])
    assert _stored(report.result) == base64.b64decode(answer["result_b64"])
    assert _stored(report.original) == photo_jpeg


def test_it_finds_only_the_callers_own_keys(live_api, alice, bob, api_key_for, photo_jpeg):
    alice_key = api_key_for(alice)
    _rmbg(live_api, alice_key, photo_jpeg, idem="mine")
    _rmbg(live_api, alice_key, photo_jpeg, idem=None)  # no key: nothing kept to report
    for key, idem in ((alice_key, "never-used"), (api_key_for(bob), "mine")):
        response = _report(live_api, key, data={"idempotency_key": idem, "consent": "true"})
        assert (response.status_code, response.json()) == (404, {"error": NOT_FOUND, "status": 404})
    empty = _report(live_api, alice_key, data={"consent": "true"})
    assert empty.status_code == 400 and empty.json()["details"][0]["field"] == "idempotency_key"
    assert not Report.objects.exists()


def test_it_refuses_test_keys_and_anonymous_callers(live_api, alice, photo_jpeg):
    _key, test_key = api_key_create(user=alice, name="tests", is_test=True)
    _rmbg(live_api, test_key, photo_jpeg, idem="free-1")
    refused = _report(live_api, test_key, data={"idempotency_key": "free-1", "consent": "true"})
    assert (refused.status_code, refused.json()["error"]) == (
        403, "Cut-outs made with a test key cannot be reported. Report one made with a live key.")
    anonymous = _report(live_api, None, data={"idempotency_key": "free-1", "consent": "true"})
    assert anonymous.status_code == 401
    assert not Report.objects.exists()


def test_the_kept_original_goes_with_the_stored_answer(live_api, alice, api_key_for, photo_jpeg, settings):
    _rmbg(live_api, api_key_for(alice), photo_jpeg, idem="old")
    assert idempotency_purge() == 0
    later = datetime.now(UTC) + timedelta(seconds=settings.IDEMPOTENCY_TTL + 7200)
    assert idempotency_purge(now=later) == 2  # the answer and its original
    _shards, files = default_storage.listdir("idempotency")
    assert files == [] and all(default_storage.listdir(f"idempotency/{s}")[1] == [] for s in _shards)


def test_the_api_reference_documents_both_reports(live_api):
    spec = httpx.get(f"{live_api}/api/openapi", timeout=30).json()
    for path in ("/rmbg/report", "/api/jobs/{job_id}/items/{index}/report"):
        post = spec["paths"][path]["post"]
        form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert "consent" in form["required"] and form["properties"]["note"]["maxLength"] == 2000
        assert post["requestBody"]["content"]["application/json"]["schema"] == form
        assert {"201", "400", "401", "403", "404"} <= set(post["responses"])
        assert post["security"] == [{"ApiKey": []}, {"BearerToken": []}]
    assert "idempotency_key" in spec["paths"]["/rmbg/report"]["post"]["requestBody"]["content"][
        "multipart/form-data"]["schema"]["required"]
    assert "/rmbg/report" in spec["info"]["description"]
