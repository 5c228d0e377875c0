"""A large JPEG asked for a smaller output decodes smaller (DCT scaling) and gives the same cut-out."""

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from removal import pipeline, segment
from removal.decode import DRAFT_MIN_SIDE, image_pixels, image_probe
from removal.options import options_parse

from .conftest import decode, encode, iou


@pytest.fixture(scope="module")
def mosaic48() -> bytes:
    """bench/photos.py's 8000×6000 mosaic of real photos (JPEG q90)."""
    from bench import photos

    return photos.photo_bytes("mosaic48")


def _rotated_jpeg(stored: tuple[int, int], orientation: int) -> bytes:
    image = Image.effect_noise(stored, 40).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", quality=80, exif=exif.tobytes())


async def test_it_decodes_a_48_mp_jpeg_asked_at_1000_px_at_half_size(mosaic48):
    async with pipeline.admitted() as ticket:
        image = await pipeline.image_decode(mosaic48, "m.jpg", ticket=ticket, options=options_parse({"w": "1000"}))
    assert image.image.size == (4000, 3000)  # 1/4 would go below DRAFT_MIN_SIDE
    assert image.original_size == (8000, 6000) == image.size_uploaded


def test_it_makes_the_same_cutout_from_the_smaller_decode(mosaic48, monkeypatch):
    """The output's size and subject box are the full decode's; the mask keeps the IoU bar against
    rembg's preprocessing (plain LANCZOS of the whole photo to 320×320). On the float model, whose
    bar this is: on a 48 MP mosaic the int8 model's agreement with itself is a printed figure, not a
    gate (issue 28; bench/pipeline.py --part runtimes)."""
    monkeypatch.setenv("MODEL_PRECISION", "f32")
    monkeypatch.setattr(segment, "_sessions", {})
    options = options_parse({"w": "1000"})
    drafted = pipeline.cutout_from_bytes(mosaic48, "m.jpg", options)
    monkeypatch.setattr(pipeline, "_draft_size", lambda header, options: None)
    full = pipeline.cutout_from_bytes(mosaic48, "m.jpg", options)
    assert (drafted.result.width, drafted.result.height) == (full.result.width, full.result.height) == (1000, 750)
    assert all(abs(a - b) <= 8 for a, b in zip(drafted.foreground, full.foreground, strict=True))  # 8000 px wide
    monkeypatch.setattr(segment, "_U2NET_REDUCING_GAP", None)
    rembg_like = segment.mask_predict(Image.open(io.BytesIO(mosaic48)).convert("RGB"), (1000, 750))
    assert iou(decode(drafted.result.data).getchannel("A"), rembg_like) >= 0.99


def test_it_drafts_in_the_stored_orientation_and_returns_the_upright_image():
    data = _rotated_jpeg((3840, 4000), orientation=6)  # stored portrait, shown landscape 4000×3840
    image = image_pixels(image_probe(data, "r.jpg"), at_least=(1000, 960))
    assert image.image.size == (2000, 1920) and image.original_size == (4000, 3840)
    made = pipeline.cutout_from_bytes(data, "r.jpg", options_parse({"w": "1000", "format": "png"}))
    assert (made.result.width, made.result.height) == (1000, 960)


@pytest.mark.parametrize("fields", [{"w": "1000", "crop": "true"}, {"w": "1000", "refine": "matting"}, {}])
def test_it_decodes_in_full_for_crop_refine_or_a_full_size_output(mosaic48, fields):
    header = image_probe(mosaic48, "m.jpg")
    assert pipeline._draft_size(header, options_parse(fields)) is None


def test_it_never_decodes_below_the_minimum_side():
    data = encode(Image.effect_noise((4000, 3000), 40).convert("RGB"), "JPEG", quality=80)  # 12 MP
    image = image_pixels(image_probe(data, "m.jpg"), at_least=(400, 300))
    assert image.image.size == (4000, 3000) and image.original_size is None  # 1/2 is 1500 < 1920
    assert DRAFT_MIN_SIDE == 1920


def test_it_only_drafts_jpegs():
    data = encode(Image.effect_noise((4000, 4000), 40).convert("RGB"), "PNG")
    image = image_pixels(image_probe(data, "m.png"), at_least=(500, 500))
    assert image.image.size == (4000, 4000) and image.original_size is None
    assert np.asarray(image.image).shape == (4000, 4000, 3)


def test_a_large_jpeg_decoded_in_full_gets_its_models_input_from_a_draft_decoded_beside_it(mosaic48, monkeypatch):
    """The decode is one thread: the model's input is made from the half-size draft on the other
    core meanwhile, and the mask keeps the IoU bar against rembg's preprocessing (float model, as
    above). The full-size photo is never preprocessed."""
    monkeypatch.setenv("MODEL_PRECISION", "f32")
    monkeypatch.setattr(segment, "_sessions", {})
    preprocessed = []
    real_input = segment.model_input
    monkeypatch.setattr(segment, "model_input",
                        lambda image, **kw: preprocessed.append(image.size) or real_input(image, **kw))
    made = pipeline.cutout_from_bytes(mosaic48, "m.jpg", options_parse({"format": "png"}))
    assert preprocessed == [(4000, 3000)]  # the draft's
    assert (made.result.width, made.result.height) == (8000, 6000)
    monkeypatch.setattr(segment, "_U2NET_REDUCING_GAP", None)
    rembg_like = segment.mask_predict(Image.open(io.BytesIO(mosaic48)).convert("RGB"), (1000, 750))
    alpha = decode(made.result.data).getchannel("A").resize((1000, 750), Image.Resampling.LANCZOS)
    assert iou(alpha, rembg_like) >= 0.99


async def test_no_draft_is_decoded_without_options_for_a_smaller_jpeg_or_another_model(mosaic48, monkeypatch):
    """Without the options (a test key's run, the editor's re-render), below 16 MP, or for a model
    whose input is not the U²-Net family's (asked, or the server's default): one decode."""
    drafts = []
    monkeypatch.setattr(pipeline, "_input_drafted", lambda *args: drafts.append(args) or None)
    small = encode(Image.effect_noise((4000, 3000), 40).convert("RGB"), "JPEG", quality=80)
    async with pipeline.admitted() as ticket:
        for data, options, model in ((mosaic48, None, segment.DEFAULT_MODEL),
                                     (small, options_parse({}), segment.DEFAULT_MODEL),
                                     (mosaic48, replace(options_parse({}), model="isnet-general-use"), segment.DEFAULT_MODEL),
                                     (mosaic48, options_parse({}), "isnet-general-use")):
            image = await pipeline.image_decode(data, "m.jpg", ticket=ticket, options=options, model=model)
            assert image.model_input is None
        image = await pipeline.image_decode(mosaic48, "m.jpg", ticket=ticket, options=options_parse({}))
    assert len(drafts) == 1
