"""POST /editor/jobs/<id>/render/ with touch-ups: brush strokes and a background image are stored
with the job and applied by the free re-render (no inference, no charge), and survive later
option changes until reset."""

import io
import json

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from editor.models import EditorJob

from .conftest import job_processed, job_result, logged_in, usage

pytestmark = pytest.mark.django_db(transaction=True)

CENTRE = (160, 160)  # the astronaut's chest in the 320 px photo: foreground for the model
ERASE = {"mode": "erase", "radius": 30, "hardness": 1, "points": [[130, 160], [190, 160]]}
RESTORE = {"mode": "restore", "radius": 12, "hardness": 1, "points": [[5, 5]]}


@pytest.fixture
def processed(funded_alice, photo):
    return job_processed(funded_alice, photo, fmt="png")


def _result(job_id) -> Image.Image:
    return job_result(job_id).convert("RGBA")


def _model_background(job, *, rows) -> tuple[int, int]:
    """A pixel the model left fully transparent, in the given rows."""
    with default_storage.open(job.mask) as handle:
        mask = Image.open(handle).convert("L")
        mask.load()
    return next((x, y) for y in rows for x in range(mask.width) if mask.getpixel((x, y)) == 0)


def _render(client, job, **fields):
    response = client.post(f"/editor/jobs/{job.pk}/render/", fields)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_erases_and_restores_and_keeps_strokes_across_option_changes(
        processed, funded_alice, redis_client, model_calls):
    before = usage(redis_client, funded_alice)
    client = logged_in(funded_alice)
    assert _result(processed.pk).getpixel(CENTRE)[3] > 240  # the model's foreground
    assert _result(processed.pk).getpixel((5, 5))[3] < 10  # background corner

    state = _render(client, processed, format="png", strokes=json.dumps([ERASE, RESTORE]))
    assert state["touchups"]["strokes"][0]["mode"] == "erase"
    image = _result(processed.pk)
    assert image.getpixel(CENTRE)[3] == 0 and image.getpixel((5, 5))[3] == 255

    # A later colour and size change without a `strokes` field keeps the touch-ups.
    _render(client, processed, format="png", w="160", bg_color="#00ff00")
    image = _result(processed.pk)
    assert image.size == (160, 160) and image.getpixel((80, 80))[:3] == pytest.approx((0, 255, 0), abs=2)

    _render(client, processed, format="png", strokes="[]")  # reset touch-ups
    assert _result(processed.pk).getpixel(CENTRE)[3] > 240
    assert model_calls == [] and usage(redis_client, funded_alice) == before


def test_it_puts_an_uploaded_background_behind_the_subject(processed, funded_alice, redis_client,
                                                           model_calls):
    before = usage(redis_client, funded_alice)
    client = logged_in(funded_alice)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 0, 255)).save(buffer, format="PNG")
    from django.core.files.uploadedfile import SimpleUploadedFile

    background = SimpleUploadedFile("sky.png", buffer.getvalue(), content_type="image/png")
    state = _render(client, processed, format="png", background=background, background_fit="fill")
    assert state["touchups"]["background_url"]
    image = _result(processed.pk)
    assert image.getpixel((5, 5)) == pytest.approx((0, 0, 255, 255), abs=2)
    assert image.getpixel(CENTRE)[2] < 200  # the subject stays in front

    state = _render(client, processed, format="png", background_fit="fit")  # 4:3 in a square: bands
    image = _result(processed.pk)
    inside = _model_background(processed, rows=range(60, 260))  # the fitted background is 320×240
    assert image.getpixel((5, 5))[3] == 0 and image.getpixel(inside) == pytest.approx((0, 0, 255, 255), abs=2)

    old = EditorJob.objects.get(pk=processed.pk).background
    _render(client, processed, format="png", background_remove="true")
    assert _result(processed.pk).getpixel(inside)[3] == 0 and not default_storage.exists(old)
    assert model_calls == [] and usage(redis_client, funded_alice) == before


def test_it_refuses_bad_touchups_in_the_error_shape(processed, funded_alice):
    client = logged_in(funded_alice)
    response = client.post(f"/editor/jobs/{processed.pk}/render/", {"strokes": "[{", "background_fit": "tile"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Multiple validation errors" and body["status"] == 400
    assert [d["field"] for d in body["details"]] == ["strokes", "background_fit"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(f"/editor/jobs/{processed.pk}/render/",
                           {"background": SimpleUploadedFile("bg.exe", b"MZ", content_type="x/y")})
    assert response.status_code == 400
    assert response.json()["error"] == "File type '.exe' is not supported. Allowed formats: webp, bmp, png, jpg, jpeg"
    assert EditorJob.objects.get(pk=processed.pk).strokes == []


def test_it_discards_a_job_for_its_owner_only(processed, funded_alice, bob):
    names = processed.storage_names
    assert logged_in(bob).post(f"/editor/jobs/{processed.pk}/delete/").status_code == 404
    response = logged_in(funded_alice).post(f"/editor/jobs/{processed.pk}/delete/")
    assert response.status_code == 200 and response.json() == {"deleted": str(processed.pk)}
    assert not EditorJob.objects.filter(pk=processed.pk).exists()
    assert not any(default_storage.exists(name) for name in names)


def test_it_answers_oversized_touchups_in_the_error_shape(processed, funded_alice):
    client = logged_in(funded_alice)
    many = [{"mode": "erase", "radius": 5, "points": [[1, 1]] * 1000}] * 60
    response = client.post(f"/editor/jobs/{processed.pk}/render/", {"strokes": json.dumps(many)})
    assert response.status_code == 400
    assert response.json()["error"] == "Too many touch-up points (at most 50000)"
    huge = json.dumps([{"mode": "erase", "radius": 5, "points": [[1.123456, 1.123456]] * 200_000}])
    response = client.post(f"/editor/jobs/{processed.pk}/render/", {"strokes": huge})  # over Django's 2.5 MB
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["status"] == 400


def test_it_reads_the_render_form_and_the_background_off_the_event_loop(processed, funded_alice, monkeypatch):
    """A background image may be 50 MB: reading and parsing the render form must not stall the
    server's event loop (every other request waits on it), as the upload already does not."""
    import asyncio

    from django.core.files.uploadedfile import SimpleUploadedFile

    from editor import touchups

    on_loop = []
    real = touchups.touchups_parse

    def spy(fields, files, **kwargs):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real(fields, files, **kwargs)

    monkeypatch.setattr(touchups, "touchups_parse", spy)
    from editor import views

    monkeypatch.setattr(views, "touchups_parse", spy)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 0, 255)).save(buffer, format="PNG")
    background = SimpleUploadedFile("sky.png", buffer.getvalue(), content_type="image/png")
    _render(logged_in(funded_alice), processed, format="png", background=background)
    assert on_loop == [False]
