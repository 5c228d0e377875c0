"""removal.rotate: Pillow's Image.rotate (size, fill, direction), interpolated by OpenCV tile by tile."""

import numpy as np
import pytest
from PIL import Image

from removal import rotate
from removal.decode import image_load


@pytest.fixture(scope="module")
def photo(real_photos) -> Image.Image:
    return image_load(real_photos.photo_bytes("people"), "people.jpg").image  # 1122×1402


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255 ** 2 / max(((a.astype(float) - b.astype(float)) ** 2).mean(), 1e-9)))


@pytest.mark.parametrize(("angle", "expand"), [(30, True), (30, False), (-135, True), (45.5, False), (1, True),
                                               (359.5, True), (90, False)])
def test_it_fills_where_pillow_fills_and_interpolates_within_a_few_levels_of_it(photo, angle, expand):
    """The size and the corners exactly Pillow's (a pixel is the fill when its centre maps outside the
    photo); inside, OpenCV's bicubic against Pillow's: measured 49.7–52.6 dB, at most 10 levels."""
    fill = (1, 254, 3)  # a colour no interpolated pixel of the photo takes
    ours = np.asarray(rotate.rotate(photo, angle, expand, fill))
    pillows = np.asarray(photo.rotate(angle, resample=Image.Resampling.BICUBIC, expand=expand, fillcolor=fill))
    assert ours.shape == pillows.shape
    filled = (ours == fill).all(axis=2)
    assert filled.any() and np.array_equal(filled, (pillows == fill).all(axis=2))
    assert _psnr(ours, pillows) >= 48
    assert np.abs(ours.astype(int) - pillows).max() <= 16


def test_a_mask_rotates_like_the_photo_and_rgba_premultiplied(photo):
    mask = photo.convert("L")
    ours = np.asarray(rotate.rotate(mask, 30, True, 0))
    pillows = np.asarray(mask.rotate(30, resample=Image.Resampling.BICUBIC, expand=True))
    assert ours.shape == pillows.shape and _psnr(ours, pillows) >= 48
    # Premultiplied, as Pillow: the colour of a transparent half must not bleed into the visible one.
    rgba = Image.new("RGBA", (400, 300), (255, 0, 0, 255))
    rgba.paste((0, 255, 0, 0), (200, 0, 400, 300))
    out = np.asarray(rotate.rotate(rgba, 30, True, (0, 0, 0, 0)))
    shown = out[..., 3] > 0
    assert shown.any() and out[shown, 1].max() == 0


@pytest.mark.parametrize(("top", "bottom", "columns"), [(0, 128, None), (100, 333, None), (515, 1201, (77, 901)),
                                                        (1300, 1403, (0, 5))])
def test_a_band_is_those_rows_of_the_whole_rotation_to_the_bit(photo, top, bottom, columns):
    """The strip encoders ask for bands of rows, and the colour for only the alpha's columns: each
    pixel comes out as the whole rotation's (its tile is on one grid of the output), the rest fill."""
    turn = rotate.rotation(photo.size, -33, True)
    whole = np.asarray(rotate.rotate(photo, -33, True, (9, 9, 9)))
    band = np.asarray(rotate.rows_rotated(photo, top, bottom, turn, (9, 9, 9), columns))
    expected = whole[top:bottom].copy()
    if columns:
        expected[:, :columns[0]] = 9
        expected[:, columns[1]:] = 9
    assert np.array_equal(band, expected)


def test_right_angles_transpose_exactly_and_counter_clockwise(photo):
    assert np.array_equal(np.asarray(rotate.rotate(photo, 90, True, 0)),
                          np.asarray(photo.transpose(Image.Transpose.ROTATE_90)))
    assert np.array_equal(np.asarray(rotate.rotate(photo, -180, False, 0)),
                          np.asarray(photo.transpose(Image.Transpose.ROTATE_180)))
    assert rotate.rotate(photo, 360, True, 0) is photo


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_a_whole_image_is_rotated_band_by_band_into_the_output(photo, mode):
    """The JPEG and fallback paths rotate the whole composed image: its rows go into the output a
    band at a time, never as a second full-size array (48 MP at 30° with expand: +273 MB, the
    format=jpg&refine=matting&angle=30&expand=true request peaked at 1236 MiB)."""
    import tracemalloc

    image = photo.resize((photo.width * 2, photo.height * 2))  # 6.3 MP: a band is a small part of it
    image = image if mode == "RGB" else image.convert("RGBA")
    tracemalloc.start()  # numpy's buffers are traced; Pillow's image memory is not
    try:
        out = rotate.rotate(image, 30, True, (0, 0, 0) if mode == "RGB" else (0, 0, 0, 0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full = out.width * out.height * (3 if mode == "RGB" else 4)
    assert peak < 0.25 * full  # measured: a band of 256 rows (of 3552) and its tiles, ~0.12 of it


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize(("angle", "expand"), [(30, True), (-135, False)])
def test_a_rotation_as_one_array_is_rotate_pixel_for_pixel(photo, mode, angle, expand):
    image = photo.convert(mode)
    fill = (255, 255, 255) if mode == "RGB" else 0
    array = rotate.rotated_array(image, rotate.rotation(image.size, angle, expand), fill)
    assert np.array_equal(array, np.asarray(rotate.rotate(image, angle, expand, fill)))
