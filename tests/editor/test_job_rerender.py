"""POST /editor/jobs/<id>/render/: new presentation options re-render from the stored mask:
the new output, no inference, no charge."""

import pytest
from django.core.files.storage import default_storage

from editor.models import EditorJob

from .conftest import job_processed, job_result, logged_in, usage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def processed(funded_alice, photo):
    return job_processed(funded_alice, photo, fmt="webp")


def test_it_changes_colour_rotation_and_format_without_inference_or_charge(
        processed, funded_alice, redis_client, model_calls):
    before = usage(redis_client, funded_alice)
    old_result = processed.result
    client = logged_in(funded_alice)

    response = client.post(f"/editor/jobs/{processed.pk}/render/",
                           {"format": "jpeg", "bg_color": "blue", "angle": "90", "w": "160"})
    assert response.status_code == 200, response.content
    state = response.json()
    assert state["result"]["format"] == "jpeg" and state["result"]["content_type"] == "image/jpeg"
    image = job_result(processed.pk)
    assert image.format == "JPEG" and image.size == (160, 160)
    r, g, b = image.getpixel((1, 1))
    assert b > 200 and r < 40 and g < 40  # the new blue background
    assert not default_storage.exists(old_result)  # the previous rendering is replaced

    response = client.post(f"/editor/jobs/{processed.pk}/render/", {"format": "png", "angle": "45"})
    assert response.status_code == 200
    image = job_result(processed.pk)
    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.width > 320 and image.getpixel((0, 0))[3] == 0  # expanded, transparent corners

    assert model_calls == []  # no inference for either re-render
    assert usage(redis_client, funded_alice) == before  # no credit counter moved
    job = EditorJob.objects.get(pk=processed.pk)
    assert job.renders == 3 and job.charged and job.options == {"format": "png", "angle": "45"}


def test_it_renders_the_mask_only(processed, funded_alice, model_calls):
    response = logged_in(funded_alice).post(f"/editor/jobs/{processed.pk}/render/", {"mask": "true",
                                                                                    "format": "png"})
    assert response.status_code == 200
    assert job_result(processed.pk).mode == "L"
    assert model_calls == []


def test_it_validates_the_new_options(processed, funded_alice):
    response = logged_in(funded_alice).post(f"/editor/jobs/{processed.pk}/render/",
                                            {"mask": "true", "bg_color": "red"})
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Cannot use 'mask=true' together with 'bg_color'. Choose one or the other.")


def test_it_is_404_for_another_user(processed, bob):
    response = logged_in(bob).post(f"/editor/jobs/{processed.pk}/render/", {"format": "png"})
    assert response.status_code == 404


def test_it_crops_to_the_subject_and_refines_edges_in_the_free_re_render(
        processed, funded_alice, redis_client, model_calls):
    """The quality options (issue 16) are editor toggles too: applied from the stored full-size mask,
    still no inference and no charge, and kept with the job so the page shows them again."""
    before = usage(redis_client, funded_alice)
    full = job_result(processed.pk).size
    client = logged_in(funded_alice)
    response = client.post(f"/editor/jobs/{processed.pk}/render/",
                           {"crop": "true", "crop_margin": "4", "refine": "matting", "format": "png"})
    assert response.status_code == 200, response.content
    state = response.json()
    cropped = job_result(processed.pk)
    assert cropped.size != full and cropped.width <= full[0] and cropped.height <= full[1]
    assert state["options"] | {} == {"crop": "true", "crop_margin": "4", "refine": "matting", "format": "png"}
    assert model_calls == [] and usage(redis_client, funded_alice) == before
    # What refinement did is kept with the job, as X-Refine (and X-Refine-Reason on a skip) say it.
    assert state["result"]["refine"] in ("matting", "reduced", "skipped")
    assert (state["result"]["refine_reason"] is None) == (state["result"]["refine"] != "skipped")
    response = client.post(f"/editor/jobs/{processed.pk}/render/", {"format": "png"})
    assert job_result(processed.pk).size == full  # toggled off: the whole image again
    assert response.json()["result"]["refine"] is None
