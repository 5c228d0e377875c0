"""POST /rmbg's SPEC §7 fields end to end: refine, crop, crop_margin, model; GET /api/models."""

import io

import pytest
from PIL import Image

from billing.models import LedgerEntry
from removal.crop import foreground_box
from removal.segment import mask_predict
from tests.api.test_rmbg import post, usage
from tests.removal.conftest import MODEL_HOME

pytestmark = pytest.mark.django_db
NO_FOREGROUND = {"error": "No foreground found in the image", "status": 400}


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def models_home(tmp_path, monkeypatch):
    """A U2NET_HOME holding u2netp and, under rembg's file name, a second U²-Net-family model."""
    for name in ("u2netp", "u2net_human_seg"):
        (tmp_path / f"{name}.onnx").symlink_to(MODEL_HOME / "u2netp.onnx")
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))
    return tmp_path


def _box(response) -> list[int]:
    return [int(response[f"X-Foreground-{n}"]) for n in ("Left", "Top", "Width", "Height")]


def test_it_reports_the_subject_box_in_input_pixels(client, alice, api_key_for, photo_jpeg):
    response = post(client, photo_jpeg, headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200
    photo = Image.open(io.BytesIO(photo_jpeg)).convert("RGB")
    assert _box(response) == list(foreground_box(mask_predict(photo, photo.size)))
    assert "X-Refine" not in response  # a rembg.com call gets nothing new but the box


def test_it_reports_the_box_in_input_pixels_for_a_smaller_output_too(client, alice, api_key_for, photo_jpeg,
                                                                     monkeypatch):
    """The mask is made at the 128 px output size (memory): its box is scaled back to the 512 px input,
    exact to one output pixel (4 input pixels) on each side. On the float model: the property is the
    scaling; int8's mask of this small synthetic photo at 128 px has a faint row 3 output pixels
    above its 512 px mask's box (issue 28: int8 is the default, measured against true mattes)."""
    from removal import segment

    monkeypatch.setenv("MODEL_PRECISION", "f32")
    monkeypatch.setattr(segment, "_sessions", {})
    response = post(client, photo_jpeg, fields=[("w", "128")], headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200 and response["X-Width"] == "128"
    photo = Image.open(io.BytesIO(photo_jpeg)).convert("RGB")
    left, top, width, height = foreground_box(mask_predict(photo, photo.size))
    got_left, got_top, got_width, got_height = _box(response)
    assert abs(got_left - left) <= 4 and abs(got_top - top) <= 4
    assert abs((got_left + got_width) - (left + width)) <= 4
    assert abs((got_top + got_height) - (top + height)) <= 4


def test_it_says_what_refinement_did(client, alice, api_key_for, quality_dir):
    pumpkin = (quality_dir / "am_GT19_image.png").read_bytes()
    response = post(client, pumpkin, name="pumpkin.png", content_type="image/png",
                    fields=[("refine", "matting"), ("format", "png")], headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200
    assert response["X-Refine"] in ("matting", "reduced", "skipped")  # skipped only if the machine is slow
    if response["X-Refine"] != "skipped":
        assert "X-Refine-Reason" not in response


def test_it_says_why_it_did_not_refine(client, alice, api_key_for, quality_dir):
    teddy = (quality_dir / "am_GT10_image.png").read_bytes()  # the model undecided over 43 % of the teddy
    response = post(client, teddy, name="teddy.png", content_type="image/png",
                    fields=[("refine", "matting"), ("format", "png")], headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200
    assert (response["X-Refine"], response["X-Refine-Reason"]) == ("skipped", "mask-uncertain")


def test_it_crops_to_the_subject(client, alice, api_key_for, photo_jpeg):
    response = post(client, photo_jpeg, fields=[("crop", "true"), ("crop_margin", "0")],
                    headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200
    assert (response["X-Width"], response["X-Height"]) == (response["X-Foreground-Width"],
                                                           response["X-Foreground-Height"])


def test_it_refuses_to_crop_without_a_subject_and_charges_nothing(client, alice, api_key_for, redis_client,
                                                                 small_png):
    key = api_key_for(alice)  # Free: 2 credits this month
    clear = _png(Image.new("RGBA", (80, 60), (0, 0, 0, 0)))
    response = post(client, clear, name="clear.png", content_type="image/png", fields=[("crop", "true")],
                    headers={"x-api-key": key})
    assert response.status_code == 400
    assert response.json() == NO_FOREGROUND
    assert "X-Foreground-Left" not in response
    assert usage(redis_client, alice, "api") == 0
    kinds = sorted(LedgerEntry.objects.filter(user=alice).values_list("kind", flat=True))
    assert kinds == ["charge", "refund"]  # the reservation, given back
    for _ in range(2):  # both credits are still there
        assert post(client, small_png, name="a.png", headers={"x-api-key": key}).status_code == 200
    assert post(client, small_png, name="a.png", headers={"x-api-key": key}).status_code == 429


def test_it_runs_the_model_asked_for(client, alice, api_key_for, small_png, models_home):
    response = post(client, small_png, name="a.png", fields=[("model", "u2net_human_seg")],
                    headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200


def test_it_refuses_a_model_that_is_not_installed_listing_those_that_are(client, alice, api_key_for, small_png,
                                                                         models_home, redis_client):
    response = post(client, small_png, name="a.png", fields=[("model", "birefnet-general"), ("refine", "x")],
                    headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "refine", "message": "Invalid refine 'x'. Allowed values: none, matting"},
        {"field": "model", "message": "Invalid model 'birefnet-general'. Installed models: u2net_human_seg, u2netp"},
    ]
    assert usage(redis_client, alice, "api") == 0


def test_it_lists_the_installed_models(client, models_home):
    response = client.get("/api/models")
    assert response.status_code == 200
    size = (MODEL_HOME / "u2netp.onnx").stat().st_size
    assert response.json() == {"models": [
        {"name": "u2net_human_seg", "size": size, "default": False},
        {"name": "u2netp", "size": size, "default": True},
    ]}


def test_it_documents_the_new_fields_and_headers(client):
    spec = client.get("/api/openapi").json()["paths"]["/rmbg"]["post"]
    fields = spec["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"refine", "crop", "crop_margin", "model"} <= set(fields)
    assert fields["refine"]["enum"] == ["none", "matting"]
    headers = spec["responses"]["200"]["headers"]
    assert {"X-Refine", "X-Foreground-Left", "X-Foreground-Top", "X-Foreground-Width",
            "X-Foreground-Height"} <= set(headers)
    assert "/api/models" in client.get("/api/openapi").json()["paths"]


def test_it_decodes_a_large_jpeg_smaller_and_still_reports_upload_pixels(client, alice, api_key_for, monkeypatch):
    """A 3840×3840 JPEG asked at 500 px is decoded at 1920×1920 (JPEG DCT scaling); the answer's
    size and subject box are still in the upload's pixels."""
    from removal import pipeline

    decoded = []
    real = pipeline.cutout_make

    async def spy(image, options, **kwargs):
        decoded.append((image.image.size, image.size_uploaded))
        return await real(image, options, **kwargs)

    monkeypatch.setattr(pipeline, "cutout_make", spy)
    photo = Image.new("RGB", (3840, 3840), (235, 235, 240))
    photo.paste((200, 40, 30), (960, 1200, 2880, 3400))  # a red block, the obvious subject
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    response = post(client, buffer.getvalue(), fields=[("w", "500"), ("format", "png")],
                    headers={"x-api-key": api_key_for(alice)})
    assert response.status_code == 200, response.content[:200]
    assert decoded == [((1920, 1920), (3840, 3840))]
    assert (response["X-Width"], response["X-Height"]) == ("500", "500")
    left, top, width, height = _box(response)
    assert left + width <= 3840 and top + height <= 3840 and width > 1000  # upload pixels, not 1920's


def _alpha_sad(response, truth_path) -> float:
    import numpy as np

    alpha = np.asarray(Image.open(io.BytesIO(response.content)).getchannel("A")) / 255.0
    truth = np.asarray(Image.open(truth_path).convert("L")) / 255.0
    return float(np.abs(alpha - truth).sum() / 1000)


def test_quality_high_takes_a_second_look_at_the_subject(client, alice, api_key_for, quality_dir):
    teddy = (quality_dir / "am_GT10_image.png").read_bytes()  # the first pass is unsure of the body
    key = api_key_for(alice)
    normal, high = (post(client, teddy, name="teddy.png", content_type="image/png",
                         fields=[("format", "png"), *extra], headers={"x-api-key": key})
                    for extra in ([], [("quality", "high")]))
    assert normal.status_code == high.status_code == 200
    truth = quality_dir / "am_GT10_alpha.png"
    assert _alpha_sad(high, truth) < 0.9 * _alpha_sad(normal, truth)  # measured 82.4 vs 113.0 (float model)
    assert high["X-Credits-Charged"] == "1"  # the same price
