"""POST /editor/jobs/: a new upload is one job, charged once as `app` usage, refused with SPEC's messages."""

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from core.errors import CSRF_FAILED
from editor.models import EditorJob

from .conftest import fund, logged_in, photo_bytes, upload_form, usage

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/editor/jobs/"


def _app_month(counters) -> int:
    return next(v for k, v in counters.items() if ":app_usage:" in k and ":cycle:" not in k)


def test_it_processes_stores_and_charges_once(funded_alice, photo, redis_client, model_calls):
    response = logged_in(funded_alice).post(URL, upload_form(photo, format="png", bg_color="#ff0000"))
    assert response.status_code == 200, response.content
    state = response.json()
    assert state["stage"] == "done" and state["charged"] is True
    assert state["result"]["format"] == "png" and state["result"]["content_type"] == "image/png"
    assert (state["result"]["width"], state["result"]["height"]) == (320, 320)
    assert state["original"]["width"] == 320 and state["original"]["format"] == "jpeg"
    assert len(model_calls) == 1

    job = EditorJob.objects.get(pk=state["id"])
    assert job.user == funded_alice and job.options == {"format": "png", "bg_color": "#ff0000"}
    for name in (job.original, job.mask, job.result, job.thumbnail):
        assert default_storage.exists(name)
    with default_storage.open(job.mask) as handle:
        assert Image.open(handle).mode == "L"
    with default_storage.open(job.result) as handle:
        result = Image.open(handle)
        result.load()
    assert result.format == "PNG" and result.getpixel((2, 2))[:3] == (255, 0, 0)  # background replaced

    counters = usage(redis_client, funded_alice)
    assert _app_month(counters) == 1
    assert all(v == 0 for k, v in counters.items() if ":api_usage:" in k)


def test_it_lists_every_invalid_field(funded_alice, photo, redis_client):
    response = logged_in(funded_alice).post(URL, upload_form(photo, w="abc", angle="500"))
    assert response.status_code == 400
    assert response.json() == {
        "error": "Multiple validation errors",
        "details": [{"field": "w", "message": "'w' must be an integer, got: 'abc'"},
                    {"field": "angle",
                     "message": "'angle' must be between -360 and 360 degrees, got: 500.0"}],
        "status": 400,
    }
    assert not EditorJob.objects.exists()
    assert _app_month(usage(redis_client, funded_alice)) == 0


def test_it_refuses_an_unsupported_file_type(funded_alice, photo):
    response = logged_in(funded_alice).post(URL, upload_form(photo, name="virus.exe"))
    assert response.status_code == 400
    assert response.json()["error"] == (
        "File type '.exe' is not supported. Allowed formats: webp, bmp, png, jpg, jpeg")


def test_it_refuses_bytes_that_are_not_an_image_and_charges_nothing(funded_alice, redis_client):
    response = logged_in(funded_alice).post(URL, upload_form(b"hello, not a picture", name="a.png"))
    assert response.status_code == 400
    assert response.json()["error"] == "File does not appear to be a valid image (invalid file signature)"
    job = EditorJob.objects.get()
    assert job.stage == "error" and job.storage_names == []
    assert _app_month(usage(redis_client, funded_alice)) == 0


def test_it_says_when_no_image_is_sent(funded_alice):
    response = logged_in(funded_alice).post(URL, {"format": "png"})
    assert response.status_code == 400
    assert response.json()["error"] == (
        "No image file provided. Please include an 'image' field in your form data.")


def test_it_says_when_the_file_input_was_empty(funded_alice):
    client = logged_in(funded_alice)
    body = (b"--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n\r\n--B--\r\n")
    response = client.post(URL, body, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 400
    assert response.json()["error"] == "No file selected. Please choose an image file to upload."


def test_it_refuses_an_unverified_email(charlie, photo, redis_client):
    fund(charlie)
    response = logged_in(charlie).post(URL, upload_form(photo))
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "Email address not verified – please check your inbox"
    assert body["action"]["href"] == "/profile/"
    assert not EditorJob.objects.exists()


def test_it_refuses_without_credits_and_links_to_pricing(alice, photo, redis_client, model_calls):
    fund(alice, credits=0)
    response = logged_in(alice).post(URL, upload_form(photo))
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "You've reached your monthly limit. Consider purchasing more credits."
    assert body["action"]["href"] == "/pricing/"
    job = EditorJob.objects.get()
    assert job.stage == "error" and job.error_status == 429 and job.storage_names == []
    assert model_calls == []


def test_it_applies_the_short_term_rate_limit(alice, photo, settings, redis_client):
    # alice is on the free plan: "10/minute" by default; the 11th request is refused.
    client = logged_in(alice)
    for _ in range(10):
        assert client.post(URL, {"format": "png"}).status_code == 400  # counted, then refused for no image
    response = client.post(URL, upload_form(photo))
    assert response.status_code == 429
    assert response.json()["error"] == "You're making requests too quickly, Please Upgrade or slow down."
    assert "Retry-After" in response.headers and "RateLimit-Limit" in response.headers


def test_it_answers_anonymous_with_json_401(client, photo):
    response = client.post(URL, upload_form(photo))
    assert response.status_code == 401
    assert response.json()["error"] == "Please log in to use the editor."


def test_it_answers_a_request_without_its_csrf_token_with_json_403(funded_alice, photo, redis_client, model_calls):
    """The editor's fetch calls carry the CSRF token; a request without it (a chunked upload from
    a script, another site's form) is refused as JSON, like every other refusal, and costs nothing."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(funded_alice)
    before = usage(redis_client, funded_alice)
    response = client.post(URL, upload_form(photo))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": CSRF_FAILED, "status": 403}
    assert usage(redis_client, funded_alice) == before and model_calls == [] and not EditorJob.objects.exists()


def test_it_keeps_the_original_even_for_a_large_photo(funded_alice):
    data = photo_bytes(1280)
    response = logged_in(funded_alice).post(URL, upload_form(data, format="webp", w="640"))
    assert response.status_code == 200
    state = response.json()
    assert (state["result"]["width"], state["result"]["height"]) == (640, 640)
    job = EditorJob.objects.get()
    with default_storage.open(job.mask) as handle:
        assert Image.open(handle).size == (1280, 1280)  # full size, so any later size can be rendered
    assert default_storage.size(job.original) == len(data)


def test_it_refunds_when_the_job_cannot_be_recorded(funded_alice, photo, redis_client, monkeypatch):
    """Delivered and recorded is charged, anything else is refunded: the database refusing the job's
    final row leaves the user uncharged, the job failed and no file behind."""
    from django.db import DatabaseError

    real_asave = EditorJob.asave

    async def asave(self, *args, **kwargs):
        if self.stage == EditorJob.Stage.DONE:
            raise DatabaseError("the row could not be written")
        return await real_asave(self, *args, **kwargs)

    monkeypatch.setattr(EditorJob, "asave", asave)
    response = logged_in(funded_alice).post(URL, upload_form(photo))
    assert response.status_code == 500
    assert response.json()["error"] == "Image processing failed"
    assert _app_month(usage(redis_client, funded_alice)) == 0
    job = EditorJob.objects.get()
    assert (job.stage, job.charged) == (EditorJob.Stage.ERROR, False)
    assert not any(default_storage.exists(name) for name in (job.original, job.mask, job.result) if name)
    assert not default_storage.listdir(f"editor/{funded_alice.pk}/{job.pk}")[1]
