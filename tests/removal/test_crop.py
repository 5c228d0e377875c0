"""removal.crop and the crop step of removal.subject: the subject's box, plus margin, clamped."""

import numpy as np
import pytest
from PIL import Image

from removal.crop import FOREGROUND_MIN_ALPHA, crop_box, foreground_box
from removal.errors import NoForeground
from removal.options import options_parse
from removal.pipeline import cutout_from_bytes
from removal.segment import mask_predict
from tests.removal.conftest import decode, encode


def _mask_box(mask: Image.Image) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(np.asarray(mask) >= FOREGROUND_MIN_ALPHA)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


@pytest.fixture(scope="module")
def koala(quality_dir):
    """GT16, a plush koala and a flag, well inside the frame: the box has room for a margin."""
    image = Image.open(quality_dir / "am_GT16_image.png").convert("RGB")
    return encode(image, "PNG"), mask_predict(image, image.size)


def test_it_finds_the_box_of_the_visible_alpha():
    alpha = Image.new("L", (50, 40), 0)
    alpha.paste(200, (10, 5, 30, 25))
    alpha.putpixel((45, 35), FOREGROUND_MIN_ALPHA - 1)  # faint haze is not subject
    assert foreground_box(alpha) == (10, 5, 20, 20)
    assert foreground_box(Image.new("L", (50, 40), 0)) is None


@pytest.mark.parametrize("box", [(3, 300, 40, 5), (0, 250, 64, 20), (17, 511, 2, 1), (0, 0, 64, 600)])
def test_it_finds_the_box_across_its_bands_of_rows(box):
    """foreground_box looks at 256 rows at a time: subjects inside one band, across a band's edge,
    on a band's last row, filling the image."""
    alpha = Image.new("L", (64, 600), FOREGROUND_MIN_ALPHA - 1)
    left, top, width, height = box
    alpha.paste(FOREGROUND_MIN_ALPHA, (left, top, left + width, top + height))
    assert foreground_box(alpha) == box


def test_it_grows_the_box_by_pixels_or_percent_and_clamps_it():
    assert crop_box(box=(100, 50, 200, 100), margin=20, percent=False, size=(1000, 1000)) == (80, 30, 240, 140)
    assert crop_box(box=(100, 50, 200, 100), margin=10, percent=True, size=(1000, 1000)) == (80, 40, 240, 120)
    assert crop_box(box=(5, 5, 90, 90), margin=50, percent=False, size=(100, 100)) == (0, 0, 100, 100)


def test_it_crops_a_real_photo_to_the_mask_box_plus_margin(koala):
    data, mask = koala
    left, top, width, height = _mask_box(mask)
    result = cutout_from_bytes(data, "koala.png", options_parse({"crop": "true", "crop_margin": "30px",
                                                                         "format": "png"}))
    assert result.foreground == (left, top, width, height)
    out = decode(result.result.data)
    x0, y0 = max(0, left - 30), max(0, top - 30)
    x1, y1 = min(mask.width, left + width + 30), min(mask.height, top + height + 30)
    assert out.size == (x1 - x0, y1 - y0)
    expected = np.asarray(mask.crop((x0, y0, x1, y1)))
    assert np.array_equal(np.asarray(out.getchannel("A")), expected)


def test_it_crops_with_a_percent_margin_before_resizing(koala):
    data, mask = koala
    _left, _top, width, height = _mask_box(mask)
    result = cutout_from_bytes(data, "koala.png", options_parse({"crop": "1", "crop_margin": "5%",
                                                                         "w": "100"}))
    assert result.result.width == 100
    box = crop_box(box=_mask_box(mask), margin=5, percent=True, size=mask.size)
    assert result.result.height == round(box[3] * 100 / box[2])


def test_it_refuses_to_crop_an_image_without_foreground():
    clear = encode(Image.new("RGBA", (64, 48), (255, 0, 0, 0)), "PNG")
    with pytest.raises(NoForeground) as caught:
        cutout_from_bytes(clear, "clear.png", options_parse({"crop": "true"}))
    assert (caught.value.status, caught.value.message) == (400, "No foreground found in the image")
    assert cutout_from_bytes(clear, "clear.png", options_parse({})).foreground is None
