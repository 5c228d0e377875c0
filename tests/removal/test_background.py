"""removal.background: a cut-out over an uploaded background image, fill or fit."""

from PIL import Image

from removal.background import background_composite


def _subject():
    source = Image.new("RGB", (100, 50), (255, 0, 0))
    mask = Image.new("L", (100, 50), 0)
    mask.paste(255, (40, 10, 60, 40))  # the subject: a red box in the middle
    return source, mask


def test_it_fills_the_whole_canvas_behind_the_subject():
    source, mask = _subject()
    background = Image.new("RGB", (30, 30), (0, 0, 255))
    out, alpha = background_composite(source, mask, background, "fill")
    assert out.size == (100, 50) and alpha.getextrema() == (255, 255)
    assert out.getpixel((50, 25)) == (255, 0, 0) and out.getpixel((2, 2)) == (0, 0, 255)


def test_it_fits_the_background_and_leaves_the_rest_transparent():
    source, mask = _subject()
    background = Image.new("RGB", (30, 30), (0, 0, 255))  # square: 50×50 in the middle when fitted
    out, alpha = background_composite(source, mask, background, "fit")
    assert alpha.getpixel((2, 25)) == 0 and alpha.getpixel((30, 25)) == 255
    assert out.getpixel((30, 25)) == (0, 0, 255) and out.getpixel((50, 25)) == (255, 0, 0)


def test_it_keeps_the_uploads_own_transparency_out_of_the_subject():
    source, mask = _subject()
    source = source.convert("RGBA")
    source.putalpha(0)  # a fully transparent upload: only the background remains
    out, alpha = background_composite(source, mask, Image.new("RGB", (10, 10), (0, 255, 0)), "fill")
    assert out.getpixel((50, 25)) == (0, 255, 0)
