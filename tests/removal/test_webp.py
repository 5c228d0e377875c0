"""removal.webp + removal.alpha: the WEBP cut-out written from strips, with our own lossless alpha."""

import io

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageCms

from removal import render, segment, webp
from removal.alpha import alph_encode
from removal.decode import image_load
from removal.options import options_parse
from removal.rotate import rotate

from .conftest import decode


def _decoded_alpha(plane: np.ndarray) -> np.ndarray:
    """The alpha a WEBP decoder (Pillow's libwebp) reads back from our ALPH chunk."""
    height, width = plane.shape
    rgb = Image.new("RGB", (width, height), (20, 120, 220))
    data = webp.encode_strips((width, height), lambda top, bottom: (rgb.crop((0, top, width, bottom)),
                                                                    Image.fromarray(plane[top:bottom])),
                              quality=85, method=0)
    return np.asarray(decode(data).getchannel("A"))


@pytest.fixture(scope="module")
def people_mask(real_photos) -> np.ndarray:
    image = image_load(real_photos.photo_bytes("people"), "people.jpg").image
    return np.asarray(segment.mask_predict(image, image.size))


def test_it_writes_the_alpha_of_a_real_cutout_exactly(people_mask):
    assert np.array_equal(_decoded_alpha(people_mask), people_mask)


@pytest.mark.parametrize("plane", [
    np.full((37, 53), 255, np.uint8),  # opaque: one value, runs across rows
    np.zeros((16, 16), np.uint8),
    np.zeros((3, 9000), np.uint8),  # a run longer than the longest VP8L copy (4096)
    np.random.default_rng(1).integers(0, 256, (41, 67), dtype=np.uint8),  # no runs, every symbol
    np.tile(np.arange(256, dtype=np.uint8), (40, 3)),
    np.array([[7]], np.uint8),
], ids=["opaque", "transparent", "long-run", "noise", "ramps", "one-pixel"])
def test_it_writes_any_alpha_plane_exactly(plane):
    assert np.array_equal(_decoded_alpha(plane), plane)


def test_a_large_alpha_is_written_on_two_threads_exactly(people_mask, monkeypatch):
    """From 4 MP on, the blocks are tokenised and written in two halves side by side, each at its
    place in the bit stream."""
    from removal import alpha

    halves = []
    real_both = alpha.both
    monkeypatch.setattr(alpha, "both", lambda first, second: halves.append(1) or real_both(first, second))
    plane = np.tile(people_mask, (2, 2))[:, :2001]  # 5.6 MP, an odd width: blocks end mid-word
    assert np.array_equal(_decoded_alpha(plane), plane)
    assert len(halves) == 2  # tokenised, then written


def test_its_alpha_is_smaller_than_libwebps_own_on_a_real_cutout(people_mask):
    """libwebp's lossless alpha (Pillow's RGBA encoder, alpha_quality 100) on people.jpg's mask."""
    buffer = io.BytesIO()
    rgba = Image.new("RGBA", people_mask.shape[::-1], (20, 120, 220, 255))
    rgba.putalpha(Image.fromarray(people_mask))
    rgba.save(buffer, "WEBP", quality=85, method=0, alpha_quality=100)
    assert len(alph_encode(people_mask)) < 0.9 * len(buffer.getvalue())  # 81.5 vs 94.5 KiB (1 of colour)


@pytest.mark.parametrize("query", ["", "angle=30&expand=true", "angle=30&expand=false", "angle=90",
                                   "angle=-135", "width=500"])
def test_it_renders_the_same_pixels_as_pillows_encoder(query, real_photos, people_mask, monkeypatch):
    """The strip path (rotation band by band, libwebp's VP8 fed YUV strips, our ALPH) against the
    plane path through Pillow's WEBP encoder it replaces: the same alpha and, where visible, the
    same colour, byte for byte once decoded (a band's rotation is those rows of the whole image's,
    tests/removal/test_rotate.py)."""
    options = options_parse(dict(item.split("=") for item in query.split("&") if item))
    image = image_load(real_photos.photo_bytes("people"), "people.jpg").image
    mask = Image.fromarray(people_mask)
    outputs = []
    for library in (webp._lib, None):
        monkeypatch.setattr(webp, "_lib", library)
        result = render.render_take([image.copy(), mask.copy()], options)
        outputs.append(np.asarray(decode(result.data).convert("RGBA")))
    ours, pillows = outputs
    assert ours.shape == pillows.shape
    alpha_off = np.abs(ours[..., 3].astype(np.int16) - pillows[..., 3])
    assert alpha_off.max() <= 1 and np.count_nonzero(alpha_off) <= 10
    visible = (ours[..., 3] > 0) & (alpha_off == 0)
    colour_off = np.abs(ours[visible, :3].astype(np.int16) - pillows[visible, :3])
    assert np.count_nonzero(colour_off) <= 0.001 * colour_off.size


def test_it_keeps_the_icc_profile(real_photos, people_mask):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = image_load(real_photos.photo_bytes("people"), "people.jpg").image
    result = render.render_take([image, Image.fromarray(people_mask)], options_parse({}), icc_profile=profile)
    assert decode(result.data).info.get("icc_profile") == profile


@pytest.mark.parametrize("fmt", ["webp", "png"])
@pytest.mark.parametrize("query", ["", "angle=30&expand=true"])
def test_it_composites_a_translucent_background_band_by_band(fmt, query, people_mask, real_photos, monkeypatch):
    """bg_color with alpha < 255 goes through the bands too (48 MP rotated: 2.5 GB through compose):
    the same pixels as compose's whole-image composite (rotated: inside the photo's footprint; its
    corners now get bg itself, where Pillow's RGBA rotation read the fill colour as premultiplied:
    #33669980 came out as about (102, 203, 255, 128))."""
    from removal import render

    image = image_load(real_photos.photo_bytes("people"), "people.jpg").image
    mask = Image.fromarray(people_mask)
    fields = {"format": fmt, "bg_color": "#33669980", **dict(item.split("=") for item in query.split("&") if item)}
    options = options_parse(fields)
    expected = render.finish(*render.compose(image.copy(), mask.copy(), options), options)
    monkeypatch.setattr(render, "LARGE_IMAGE_PIXELS", 1)  # PNG takes the bands from 16 MP on
    assert render._planes_apply(image, options, image.size)
    result = render.render_take([image.copy(), mask.copy()], options)
    ours = np.asarray(decode(result.data).convert("RGBA")).astype(np.int16)
    theirs = np.asarray(decode(expected.data).convert("RGBA")).astype(np.int16)
    assert ours.shape == theirs.shape
    alpha_off = np.abs(ours[..., 3] - theirs[..., 3])
    colour_off = np.abs(ours[..., :3] - theirs[..., :3]).max(axis=2)
    if query:  # the photo's footprint: Pillow fills the rotated corners with bg read premultiplied
        inside = np.asarray(Image.new("L", image.size, 255).rotate(30, expand=True)) == 255
        alpha_off, colour_off = alpha_off[inside], colour_off[inside]
    lossy = 1 if fmt == "png" else 3  # Pillow's RGBA WEBP encoder quantises alpha (alpha_quality 90)
    assert np.percentile(alpha_off, 99) <= lossy and np.percentile(colour_off, 99) <= 3 * lossy


def _whole_image_webp(image: Image.Image, mask: Image.Image, options) -> Image.Image:
    """What the render did before it went band by band: composite onto a new canvas, rotate the
    whole image (removal.rotate), and let Pillow's WEBP encoder write it (converting a mask to RGB
    itself)."""
    if options.mask:
        out, fill = mask, 0
    else:
        fill = (0x33, 0x66, 0x99)
        out = Image.new("RGB", image.size, fill)
        out.paste(image, mask=mask)
    if options.angle:
        out = rotate(out, options.angle, options.expand, fill)
    buffer = io.BytesIO()
    out.save(buffer, "WEBP", quality=85, method=0)
    return decode(buffer.getvalue())


@pytest.mark.parametrize("query", ["bg_color=#336699", "bg_color=#336699&angle=30&expand=true",
                                   "bg_color=#336699&angle=-135", "bg_color=#336699&angle=90",
                                   "mask=true", "mask=true&angle=30&expand=true", "mask=true&angle=270"])
def test_it_writes_opaque_outputs_band_by_band_as_the_whole_image(query, real_photos, people_mask, monkeypatch):
    """An opaque bg_color or a mask as WEBP: composited in place, rotated band by band into
    libwebp's planes (48 MP at 30°: 1.2 GB through Pillow's whole-image path) — the same pixels,
    once decoded, as compositing, rotating and encoding the whole image with Pillow."""
    options = options_parse(dict(item.split("=") for item in query.split("&")))
    image = image_load(real_photos.photo_bytes("people"), "people.jpg").image
    mask = Image.fromarray(people_mask)
    strips = []
    monkeypatch.setattr(webp, "encode_strips", lambda *args, **kwargs: strips.append(kwargs["opaque"])
                        or _encode_strips(*args, **kwargs))
    result = render.render_take([image.copy(), mask.copy()], options)
    assert strips == [True]  # the band-by-band path, not Pillow's
    ours, theirs = decode(result.data), _whole_image_webp(image, mask, options)
    assert (ours.mode, ours.size) == (theirs.mode, theirs.size) == ("RGB", (result.width, result.height))
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))


_encode_strips = webp.encode_strips


@pytest.mark.parametrize("bg_color", [None, "#336699"])
@pytest.mark.parametrize("upload", ["RGB", "RGBA"])
def test_it_flattens_in_place_to_the_pixels_of_a_new_canvas(bg_color, upload, real_photos, people_mask):
    """Formats without alpha and opaque colours paste the background into the photo's own pixels,
    band by band: the pixels of pasting the photo onto a new canvas of that colour."""
    image = image_load(real_photos.photo_bytes("people"), "people.jpg").image
    mask = Image.fromarray(people_mask)
    if upload == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    options = options_parse({"format": "jpg", **({"bg_color": bg_color} if bg_color else {})})
    out, color = render.compose(image.copy(), mask, options, owned=True)
    alpha = mask if upload == "RGB" else ImageChops.multiply(mask, image.getchannel("A"))
    canvas = Image.new("RGB", image.size, color)
    canvas.paste(image.convert("RGB"), mask=alpha)
    assert color == ((0x33, 0x66, 0x99) if bg_color else (255, 255, 255))
    assert np.array_equal(np.asarray(out), np.asarray(canvas))
    assert np.asarray(out).std() > 10  # a photo, not a flat colour
