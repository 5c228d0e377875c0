"""removal.png: a large PNG cut-out written strip by strip on two cores, the composed image's pixels."""

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageCms

from removal import png, render, segment
from removal.decode import image_load
from removal.options import options_parse
from removal.png import _adler_combine

from .conftest import decode


@pytest.fixture(scope="module")
def people(real_photos) -> tuple[Image.Image, Image.Image]:
    image = image_load(real_photos.photo_bytes("people"), "people.jpg").image
    return image, segment.mask_predict(image, image.size)


@pytest.mark.parametrize("query", ["", "angle=30&expand=true", "angle=90", "width=700"])
def test_it_writes_the_pixels_pillow_writes_for_the_composed_image(query, people, monkeypatch):
    """The strip path, forced on a 1.6 MP photo (it serves LARGE_IMAGE_PIXELS and up), against
    compose + Pillow's PNG encoder: the same RGBA, byte for byte once decoded (bar rotated bands'
    last-bit rounding, see test_webp.py, and the colour of partly transparent rotated pixels)."""
    image, mask = people
    options = options_parse({"format": "png", **dict(item.split("=") for item in query.split("&") if item)})
    size = render.output_size(image.size, options)
    expected = render.finish(*render.compose(image.copy(), mask.resize(size, Image.Resampling.LANCZOS), options),
                             options)
    monkeypatch.setattr(render, "LARGE_IMAGE_PIXELS", 1)
    assert render._planes_apply(image, options, size)
    result = render.render_take([image.copy(), mask.copy()], options)
    assert (result.width, result.height, result.content_type) == (expected.width, expected.height, "image/png")
    ours = np.asarray(decode(result.data)).astype(np.int16)
    theirs = np.asarray(decode(expected.data)).astype(np.int16)
    assert ours.shape == theirs.shape and decode(result.data).mode == "RGBA"
    alpha_off = np.abs(ours[..., 3] - theirs[..., 3])
    assert alpha_off.max() <= 1 and np.count_nonzero(alpha_off) <= 10
    colour_off = np.abs(ours[..., :3] - theirs[..., :3]).max(axis=2)
    if query.startswith("angle=30"):
        # Pillow rotates an RGBA image premultiplied; the bands rotate colour and alpha apart (as the
        # WEBP path always has): the colour moves by a few levels where it shows (people.jpg, alpha
        # ≥ 32: max 12, p99 3), more only where it is nearly transparent.
        shown = ours[..., 3] >= 32
        assert colour_off[shown].max() <= 16 and colour_off[shown].mean() <= 1
    else:
        assert np.count_nonzero(colour_off) == 0


def test_it_keeps_the_icc_profile(people, monkeypatch):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    monkeypatch.setattr(render, "LARGE_IMAGE_PIXELS", 1)
    image, mask = people
    result = render.render_take([image.copy(), mask.copy()], options_parse({"format": "png"}), icc_profile=profile)
    assert decode(result.data).info.get("icc_profile") == profile


@pytest.mark.parametrize("deflater", ["isal", "zlib"])
def test_either_deflater_writes_one_valid_zlib_stream_of_the_same_pixels(deflater, people, monkeypatch):
    """ISA-L (installed by pyproject) and zlib's fallback: strips joined by sync flushes, one Adler-32
    that zlib itself checks when it inflates the IDAT, the same pixels either way."""
    import zlib

    from isal import isal_zlib

    assert png._deflate is isal_zlib  # what the server uses
    monkeypatch.setattr(png, "_deflate", isal_zlib if deflater == "isal" else zlib)
    monkeypatch.setattr(render, "LARGE_IMAGE_PIXELS", 1)
    image, mask = people
    data = render.render_take([image.copy(), mask.copy()], options_parse({"format": "png"})).data
    idat = data.index(b"IDAT")
    length = int.from_bytes(data[idat - 4:idat], "big")
    raw = zlib.decompress(data[idat + 4:idat + 4 + length])  # raises on a bad stream or checksum
    assert len(raw) == image.height * (1 + image.width * 4)
    expected = render.finish(*render.compose(image.copy(), mask.copy(), options_parse({"format": "png"})),
                             options_parse({"format": "png"}))
    assert np.array_equal(np.asarray(decode(data)), np.asarray(decode(expected.data)))


def test_it_combines_adler32_as_zlib_does():
    import zlib

    first, second = b"cut" * 1000, bytes(range(256)) * 300
    assert _adler_combine(zlib.adler32(first), zlib.adler32(second), len(second)) == zlib.adler32(first + second)


@pytest.mark.parametrize("transparent_upload", [False, True])
def test_a_png_cut_out_is_the_photo_over_a_transparent_canvas_black_where_nothing_shows(people,
                                                                                       transparent_upload):
    """compose blanks the colour under alpha 0 in place (issue 28: no second full-size canvas): the
    same pixels as pasting the photo through the binary mask onto a new transparent canvas."""
    image, mask = people
    if transparent_upload:
        image = image.convert("RGBA")
        image.putalpha(Image.linear_gradient("L").rotate(90).resize(image.size))
    alpha = mask if image.mode == "RGB" else ImageChops.multiply(mask, image.getchannel("A"))
    reference = Image.new("RGBA", image.size, (0, 0, 0, 0))
    reference.paste(image, mask=alpha.point(lambda v: 255 if v else 0))
    reference.putalpha(alpha)
    out, _ = render.compose(image.copy(), mask, options_parse({"format": "png"}), owned=True)
    got, want = np.asarray(out), np.asarray(reference)
    assert out.mode == "RGBA"
    assert (got[..., 3] == 0).any() and not got[got[..., 3] == 0][:, :3].any()  # black under alpha 0
    assert np.array_equal(got, want)


def test_rotate_resample_bilinear_rotates_bilinearly_where_asked(people, monkeypatch):
    """ROTATE_RESAMPLE=bilinear (opt-in: faster, slightly softer): the bands' alpha is Pillow's bilinear
    rotation of the mask but for a level; by default it is bicubic, a few levels from Pillow's (its
    kernel is OpenCV's, a = −0.75 against Pillow's −1) and away from bilinear."""
    image, mask = people
    monkeypatch.setattr(render, "LARGE_IMAGE_PIXELS", 1)
    options = options_parse({"format": "png", "angle": "30"})
    pillows = {name: np.asarray(mask.rotate(30, resample=getattr(Image.Resampling, name), expand=True), dtype=int)
               for name in ("BILINEAR", "BICUBIC")}
    apart = np.abs(pillows["BILINEAR"] - pillows["BICUBIC"]) > 2  # the edges, where the two differ
    off = {}
    for setting in ("bilinear", ""):
        monkeypatch.setenv("ROTATE_RESAMPLE", setting)
        alpha = np.asarray(decode(render.render_take([image.copy(), mask.copy()], options).data).getchannel("A"),
                           dtype=int)
        off[setting] = {name: np.abs(alpha - pillows[name])[apart] for name in pillows}
    assert off["bilinear"]["BILINEAR"].max() <= 1  # measured: mean 0.5 where the two differ
    assert off["bilinear"]["BILINEAR"].mean() < 0.25 * off["bilinear"]["BICUBIC"].mean()  # 3.4
    assert np.percentile(off[""]["BICUBIC"], 99) <= 4  # measured: 3, mean 1.5
    assert off[""]["BILINEAR"].mean() > 3 * off["bilinear"]["BILINEAR"].mean()  # 2.0: not bilinear
