"""removal.resize: the split resize gives Pillow's pixels exactly, or does not split."""

import io

import numpy as np
import pytest
from PIL import Image

from removal import resize
from removal.resize import resize_split

LANCZOS = Image.Resampling.LANCZOS


@pytest.fixture(scope="module")
def photos():
    from bench import photos

    return {name: Image.open(io.BytesIO(photos.photo_bytes(name))).convert("RGB")
            for name in ("people", "car", "astronaut", "coffee", "mosaic12")}


def _halves_used(monkeypatch) -> list:
    calls = []
    real = resize.both
    monkeypatch.setattr(resize, "both", lambda first, second: calls.append(1) or real(first, second))
    return calls


# coffee (600×400) is too small to be worth a helper.
@pytest.mark.parametrize(("name", "splits"), [("people", 1), ("car", 1), ("astronaut", 1), ("coffee", 0),
                                              ("mosaic12", 2)])  # reduced by 2 at gap 6, then resized
def test_it_makes_the_models_input_exactly_as_one_resize_does(photos, monkeypatch, name, splits):
    calls = _halves_used(monkeypatch)
    image = photos[name]
    split = resize_split(image, (320, 320), reducing_gap=6.0)
    assert len(calls) == splits
    assert np.array_equal(np.asarray(split), np.asarray(image.resize((320, 320), LANCZOS, reducing_gap=6.0)))


@pytest.mark.parametrize("size", [(1122, 1402), (1086, 1448), (4000, 3000), (600, 500), (2000, 1000)])
def test_it_upscales_a_prediction_exactly_as_one_resize_does(monkeypatch, size):
    calls = _halves_used(monkeypatch)
    prediction = Image.fromarray((np.random.default_rng(1).random((320, 320)) * 255).astype(np.uint8))
    split = resize_split(prediction, size)
    assert calls == [1] and split.size == size and split.mode == "L"
    assert np.array_equal(np.asarray(split), np.asarray(prediction.resize(size, LANCZOS)))


@pytest.mark.parametrize("size", [(1123, 1403), (801, 533)])
def test_it_resizes_in_one_piece_where_halves_could_round_differently(monkeypatch, size):
    calls = _halves_used(monkeypatch)
    prediction = Image.fromarray((np.random.default_rng(2).random((320, 320)) * 255).astype(np.uint8))
    assert np.array_equal(np.asarray(resize_split(prediction, size)), np.asarray(prediction.resize(size, LANCZOS)))
    assert calls == []  # odd height: no exact middle


@pytest.mark.parametrize(("size", "gap"), [((4000, 4000), 6.0), ((4001, 3999), 6.0), ((8000, 6000), 10.0),
                                         ((7001, 5003), 10.0), ((6500, 900), 10.0)])
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_it_splits_after_pillows_pre_reduction_with_the_same_pixels(monkeypatch, size, gap, mode):
    """Pillow reduces by an integer factor first where the source is ≥ gap × the size (here by 2 or
    3 across, and down where tall enough); the reduction and the LANCZOS after it both split, even
    where the factor does not divide the size (the last block is partial: Pillow's box then ends
    inside it). RGBA: Pillow resizes it premultiplied and ignores the gap; so does resize_split."""
    calls = _halves_used(monkeypatch)
    big = Image.effect_noise(size, 60).convert(mode)
    if mode == "RGBA":  # Pillow reduces and resizes it premultiplied
        big.putalpha(Image.effect_noise(size, 90))
    expected = big.resize((320, 320), LANCZOS, reducing_gap=gap)
    assert np.array_equal(np.asarray(resize_split(big, (320, 320), reducing_gap=gap)), np.asarray(expected))
    assert calls == ([1, 1] if mode == "RGB" else [1])


@pytest.mark.parametrize("size", [(8000, 6000), (10000, 10000), (6000, 8008), (4096, 4100)])
def test_it_upscales_a_large_mask_in_pieces_with_the_same_pixels(size):
    """Above 16 MP the halves are cut into 4, 8 or 16 pieces (pasted as they are made, for memory)."""
    prediction = Image.fromarray((np.random.default_rng(3).random((320, 320)) * 255).astype(np.uint8))
    pasted = []
    real_paste = Image.Image.paste

    def paste(self, *args, **kwargs):
        pasted.append(1)
        return real_paste(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Image.Image, "paste", paste)
        split = resize_split(prediction, size)
    assert len(pasted) == {(8000, 6000): 8, (10000, 10000): 16, (6000, 8008): 8, (4096, 4100): 4}[size]
    assert np.array_equal(np.asarray(split), np.asarray(prediction.resize(size, LANCZOS)))


@pytest.mark.parametrize(("size", "gap"), [((6000, 3000), 9.0), ((900, 700), 9.0), ((6000, 3000), None)])
def test_a_palette_is_resized_as_its_rgb_expansion_expanded_band_by_band(size, gap, monkeypatch):
    """A palette kept by removal.decode (a 100 MP one is 100 MB; its RGB 400 MB more): the model's
    input from it is the input from its RGB, to the bit, and the whole RGB is never made while
    it is reduced."""
    palette = Image.radial_gradient("L").resize(size).quantize(64)  # "P", 64 colours
    palette.paste(7, (size[0] // 3, size[1] // 4, size[0] // 2, size[1] // 2))
    expected = resize_split(palette.convert("RGB"), (320, 320), reducing_gap=gap)
    biggest = []
    real_convert = Image.Image.convert
    monkeypatch.setattr(Image.Image, "convert",
                        lambda self, *a, **k: biggest.append(self.width * self.height) or real_convert(self, *a, **k))
    ours = resize_split(palette, (320, 320), reducing_gap=gap)
    assert ours.mode == "RGB" and np.array_equal(np.asarray(ours), np.asarray(expected))
    if gap and size[0] > 2 * 320 * gap:  # reduced (by 2 across): expanded band by band
        assert max(biggest) <= resize._PALETTE_BAND_PIXELS + size[0] * 9
