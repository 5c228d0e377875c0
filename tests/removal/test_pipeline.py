"""removal.pipeline / render / encode: sizes, rotation, colours, formats, metadata, progress."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from removal.decode import image_load
from removal.errors import ImageRejected
from removal.options import options_parse
from removal.pipeline import mask_compute, remove_background, render

from .conftest import decode, encode


def _run(data: bytes, name: str = "photo.jpg", **fields) -> tuple:
    result = remove_background(data, name, options_parse({k: str(v) for k, v in fields.items()}))
    return result, decode(result.data)


@pytest.fixture(scope="module")
def loaded_chelsea(chelsea_jpeg):
    return image_load(chelsea_jpeg, "chelsea.jpg")


@pytest.fixture(scope="module")
def chelsea_mask(loaded_chelsea):
    return mask_compute(loaded_chelsea)


def _render(loaded, mask_image, **fields):
    result = render(loaded, mask_image, options_parse({k: str(v) for k, v in fields.items()}))
    return result, decode(result.data)


def test_it_returns_a_webp_cutout_with_alpha_by_default(chelsea_jpeg, chelsea):
    result, image = _run(chelsea_jpeg)
    assert (result.format, result.content_type) == ("webp", "image/webp")
    assert image.format == "WEBP" and image.mode == "RGBA"
    assert image.size == chelsea.size == (result.width, result.height)
    alpha = np.asarray(image.getchannel("A"))
    assert alpha.min() < 10 and alpha.max() > 245  # both background and subject are there


@pytest.mark.parametrize(
    "fmt,pil_format,mode,content_type",
    [("webp", "WEBP", "RGBA", "image/webp"), ("png", "PNG", "RGBA", "image/png"),
     ("jpeg", "JPEG", "RGB", "image/jpeg"), ("jpg", "JPEG", "RGB", "image/jpeg"),
     ("bmp", "BMP", "RGB", "image/bmp")],
)
def test_it_encodes_each_format_so_it_decodes_with_the_right_mode(loaded_chelsea, chelsea_mask, fmt,
                                                                   pil_format, mode, content_type):
    result, image = _render(loaded_chelsea, chelsea_mask, format=fmt)
    assert (image.format, image.mode, result.content_type) == (pil_format, mode, content_type)


def test_it_flattens_formats_without_alpha_onto_white(loaded_chelsea, chelsea_mask):
    _, image = _render(loaded_chelsea, chelsea_mask, format="jpeg")
    background = np.asarray(chelsea_mask) < 5
    assert background.any()
    assert np.asarray(image)[background].mean() > 245


def test_it_flattens_formats_without_alpha_onto_bg_color(loaded_chelsea, chelsea_mask):
    _, image = _render(loaded_chelsea, chelsea_mask, format="bmp", bg_color="#0000ff")
    background = np.asarray(chelsea_mask) < 5
    pixels = np.asarray(image)[background]
    assert (pixels[:, 2] > 245).all() and (pixels[:, :2] < 10).all()


@pytest.mark.parametrize("fmt", ["webp", "png"])
def test_it_leaves_no_transparent_pixel_with_an_opaque_bg_color(loaded_chelsea, chelsea_mask, fmt):
    _, image = _render(loaded_chelsea, chelsea_mask, format=fmt, bg_color="lime")
    rgba = np.asarray(image.convert("RGBA"))
    assert rgba[..., 3].min() == 255
    background = np.asarray(chelsea_mask) < 5
    assert rgba[background][:, 1].mean() > 240


def test_it_keeps_a_translucent_bg_color_translucent(loaded_chelsea, chelsea_mask):
    _, image = _render(loaded_chelsea, chelsea_mask, format="png", bg_color="#ff000080")
    alpha = np.asarray(image.getchannel("A"))
    assert alpha.min() >= 127 and alpha.max() == 255
    background = np.asarray(chelsea_mask) == 0
    assert np.asarray(image)[background][:, 0].min() == 255


@pytest.mark.parametrize("fmt,mode", [("png", "L"), ("jpeg", "L"), ("bmp", "L")])
def test_it_returns_a_single_channel_mask(loaded_chelsea, chelsea_mask, fmt, mode):
    _, image = _render(loaded_chelsea, chelsea_mask, format=fmt, mask="true")
    assert image.mode == mode and len(image.getbands()) == 1
    if fmt == "png":
        assert np.array_equal(np.asarray(image), np.asarray(chelsea_mask))


def test_it_returns_a_grey_mask_in_webp(loaded_chelsea, chelsea_mask):
    _, image = _render(loaded_chelsea, chelsea_mask, mask="true")
    channels = np.asarray(image.convert("RGB")).astype(int)
    assert np.abs(channels[..., 0] - channels[..., 1]).max() <= 2  # WEBP has no grey mode


@pytest.mark.parametrize(
    "fields,size",
    [
        ({"w": 200}, (200, 133)),
        ({"h": 150}, (226, 150)),
        ({"w": 200, "h": 200}, (200, 133)),
        ({"w": 900, "h": 100}, (150, 100)),
        ({"w": 902, "h": 900}, (902, 600)),  # fit inside also scales up
        ({"w": 200, "h": 200, "exact_resize": "true"}, (200, 200)),
        ({"w": 0, "h": 0}, (451, 300)),
        ({"exact_resize": "true", "w": 100}, (100, 67)),
    ],
)
def test_it_resizes_with_each_mode(loaded_chelsea, chelsea_mask, fields, size):
    result, image = _render(loaded_chelsea, chelsea_mask, format="png", **fields)
    assert image.size == size == (result.width, result.height)


def test_it_resizes_the_mask_too(loaded_chelsea, chelsea_mask):
    _, image = _render(loaded_chelsea, chelsea_mask, format="png", mask="true", w=100, h=100,
                       exact_resize="true")
    assert image.size == (100, 100) and image.mode == "L"


def test_it_shrinks_first_when_a_smaller_image_is_asked_for(chelsea_jpeg, loaded_chelsea, chelsea_mask):
    result, image = _run(chelsea_jpeg, format="png", w=120)
    expected = chelsea_mask.resize((120, 80), Image.Resampling.LANCZOS)
    alpha = np.asarray(image.getchannel("A")).astype(int)
    assert image.size == (120, 80)
    assert np.abs(alpha - np.asarray(expected).astype(int)).mean() < 2


def _pillow_rotated_size(size, angle, expand):
    return Image.new("L", size).rotate(angle, expand=expand).size


@pytest.mark.parametrize("angle", [90, -90, 180, 270, 45, 30.5, -360, 360])
@pytest.mark.parametrize("expand", ["true", "false"])
def test_it_rotates_like_pillow_with_and_without_expand(loaded_chelsea, chelsea_mask, angle, expand):
    _, image = _render(loaded_chelsea, chelsea_mask, format="png", angle=angle, expand=expand)
    assert image.size == _pillow_rotated_size((451, 300), angle, expand == "true")


def test_it_rotates_counter_clockwise():
    canvas = Image.new("RGB", (200, 100), "white")
    ImageDraw.Draw(canvas).rectangle((0, 0, 40, 40), fill="black")  # top-left
    loaded = image_load(encode(canvas, "PNG"), "c.png")
    mask = Image.new("L", canvas.size, 255)
    _, image = _render(loaded, mask, format="png", angle=90)
    assert image.size == (100, 200)
    assert image.getpixel((10, 190))[:3] == (0, 0, 0)  # counter-clockwise: top-left → bottom-left


def test_it_fills_the_corners_of_a_rotated_cutout_with_transparency(loaded_chelsea, chelsea_mask):
    _, image = _render(loaded_chelsea, chelsea_mask, format="png", angle=30)
    assert image.getpixel((0, 0))[3] == 0


def test_it_fills_the_corners_of_a_rotated_bg_color_result_with_it(loaded_chelsea, chelsea_mask):
    _, image = _render(loaded_chelsea, chelsea_mask, format="png", angle=30, bg_color="#00f")
    assert image.getpixel((0, 0))[:3] == (0, 0, 255)
    assert np.asarray(image.convert("RGBA"))[..., 3].min() == 255


def test_it_keeps_an_uploads_own_transparency(chelsea):
    rgba = chelsea.convert("RGBA")
    rgba.putalpha(Image.new("L", chelsea.size, 255))
    ImageDraw.Draw(rgba).rectangle((0, 0, 450, 99), fill=(0, 0, 0, 0))  # top third transparent
    _, image = _run(encode(rgba, "PNG"), "cat.png", format="png")
    assert np.asarray(image.getchannel("A"))[:100].max() == 0


def test_it_keeps_an_uploads_own_transparency_in_the_mask(chelsea):
    rgba = chelsea.convert("RGBA")
    ImageDraw.Draw(rgba).rectangle((0, 0, 450, 99), fill=(0, 0, 0, 0))
    _, image = _run(encode(rgba, "PNG"), "cat.png", format="png", mask="true")
    assert image.mode == "L" and np.asarray(image)[:100].max() == 0


def test_it_comes_out_upright_from_an_exif_rotated_jpeg(chelsea):
    stored = chelsea.transpose(Image.Transpose.ROTATE_90)  # as a phone held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)
    data = encode(stored, "JPEG", quality=95, exif=exif)
    for fmt in ("webp", "png", "jpeg"):
        result, image = _run(data, "phone.jpg", format=fmt)
        assert image.size == chelsea.size
        assert not image.getexif() and b"Exif" not in result.data
    upright = np.asarray(image.convert("RGB"), dtype=float)
    assert np.abs(upright - np.asarray(chelsea, dtype=float)).mean() < 60  # same way up, not turned


def test_it_reports_the_stages_in_order(chelsea_jpeg):
    stages = []
    remove_background(chelsea_jpeg, "c.jpg", options_parse({}), progress=stages.append)
    assert stages == ["decoding", "segmenting", "compositing", "encoding"]


def test_it_raises_the_decode_refusal_from_the_one_call():
    with pytest.raises(ImageRejected, match="invalid file signature"):
        remove_background(b"not an image", "x.png", options_parse({}))


def test_it_leaves_the_loaded_image_untouched_when_rendering(loaded_chelsea, chelsea_mask):
    before = loaded_chelsea.image.tobytes()
    _render(loaded_chelsea, chelsea_mask, format="webp")
    _render(loaded_chelsea, chelsea_mask, format="png")
    assert loaded_chelsea.image.mode == "RGB" and loaded_chelsea.image.tobytes() == before


def test_it_caps_a_one_side_upscale_at_the_maximum_side():
    loaded = image_load(encode(Image.new("RGB", (1000, 10), "red"), "PNG"), "line.png")
    result, image = _render(loaded, Image.new("L", (1000, 10), 255), format="png", h=2000)
    assert image.size == (10000, 100)


def test_it_processes_a_10000_by_10000_image():
    canvas = Image.new("RGB", (10000, 10000), (225, 230, 240))
    ImageDraw.Draw(canvas).ellipse((2500, 2000, 7500, 8000), fill=(180, 60, 40))
    data = encode(canvas, "JPEG", quality=80)
    del canvas
    result, image = _run(data, "huge.jpg", format="jpeg")
    assert (result.width, result.height) == (10000, 10000) == image.size
    center = image.resize((100, 100), Image.Resampling.BOX).getpixel((50, 50))
    assert center[0] > 150 and center[1] < 100  # the subject survived; the rest went white
    assert image.resize((100, 100), Image.Resampling.BOX).getpixel((2, 2)) == (255, 255, 255)


def test_it_writes_no_metadata_into_png_or_webp(chelsea):
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    data = encode(chelsea, "PNG", exif=exif)
    for fmt in ("png", "webp"):
        result, image = _run(data, "c.png", format=fmt)
        assert not image.getexif() and b"Camera maker" not in result.data


def test_it_reads_bytes_in_any_allowed_format(chelsea):
    for fmt, name in (("BMP", "c.bmp"), ("WEBP", "c.webp"), ("PNG", "c.png")):
        result, image = _run(encode(chelsea, fmt), name)
        assert image.size == chelsea.size


def test_it_encodes_fast_settings_that_still_look_like_the_photo(loaded_chelsea):
    opaque = Image.new("L", loaded_chelsea.image.size, 255)
    _, image = _render(loaded_chelsea, opaque, format="webp")
    error = np.asarray(image.convert("RGB"), dtype=float) - np.asarray(loaded_chelsea.image, dtype=float)
    psnr = 10 * np.log10(255**2 / np.mean(error**2))
    assert psnr > 33


def test_it_writes_a_jpeg_icc_profile_through(chelsea):
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(chelsea, "JPEG", icc_profile=profile)
    result, image = _run(data, "c.jpg", format="png")
    assert image.info.get("icc_profile") == profile
    assert io.BytesIO(result.data).getbuffer().nbytes > 0


@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize("with_icc", [False, True])
def test_it_encodes_cutouts_as_separate_colour_and_exact_alpha_planes(monkeypatch, chelsea, with_icc, large):
    """A WEBP cut-out is assembled from a VP8 colour and a vertically filtered lossless alpha,
    side by side below LARGE_IMAGE_PIXELS, one after the other above it."""
    from PIL import ImageCms

    import removal.render

    if large:
        monkeypatch.setattr(removal.render, "LARGE_IMAGE_PIXELS", 10_000)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() if with_icc else None
    data = encode(chelsea, "PNG", **({"icc_profile": profile} if profile else {}))
    result, image = _run(data, "cat.png")
    assert (result.format, result.content_type) == ("webp", "image/webp")
    assert (image.format, image.mode) == ("WEBP", "RGBA")
    assert image.size == chelsea.size == (result.width, result.height)
    assert result.data[12:16] == b"VP8X"
    alph = result.data.index(b"ALPH")
    assert alph < 200 + len(profile or b"") and result.data[alph + 8] == 0x09  # vertical filter, lossless
    assert image.info.get("icc_profile") == profile
    expected = mask_compute(image_load(data, "cat.png"))
    assert np.array_equal(np.asarray(image.getchannel("A")), np.asarray(expected))  # lossless alpha
    visible = np.asarray(expected) == 255
    error = np.abs(np.asarray(image.convert("RGB"), dtype=float) - np.asarray(chelsea, dtype=float))
    assert error[visible].mean() < 6


def test_it_encodes_large_cutouts_smaller_than_asked_through_the_planes(monkeypatch, chelsea_jpeg):
    import removal.render

    monkeypatch.setattr(removal.render, "LARGE_IMAGE_PIXELS", 10_000)
    result, image = _run(chelsea_jpeg, w=300)
    assert image.size == (300, 200) and image.mode == "RGBA" and b"ALPH" in result.data[:200]


@pytest.mark.parametrize("mode", ["RGBA", "RGB"])
def test_it_writes_png_losslessly_through_the_fast_encoder(chelsea, mode):
    from removal import encode as encoder

    assert encoder._fpng is not None  # the dependency is installed, so the fast path is the one tested
    image = chelsea.convert(mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    data = encoder.image_encode(image, "png")
    back = decode(data)
    assert back.format == "PNG" and back.mode == mode and not back.info.get("icc_profile")
    assert np.array_equal(np.asarray(back), np.asarray(image))


def test_it_keeps_the_repr_of_a_result_short(chelsea_jpeg):
    """asyncio.run's SIGINT check in Python 3.11 formats a repr of its finished task, result and
    all: with the bytes in the repr that cost ~25 ms twice per remove_background on a 1.6 MP PNG."""
    from removal.pipeline import cutout_from_bytes

    cutout = cutout_from_bytes(chelsea_jpeg, "c.jpg", options_parse({"format": "png"}))
    assert len(cutout.result.data) > 10_000
    assert len(repr(cutout)) < 1_000


def test_it_reports_refining_between_segmenting_and_compositing_when_refine_is_asked(chelsea_jpeg):
    stages = []
    remove_background(chelsea_jpeg, "c.jpg", options_parse({"refine": "matting"}), progress=stages.append)
    assert stages == ["decoding", "segmenting", "refining", "compositing", "encoding"]


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("profile_copies", [0, 1, 150])  # 150 sRGB profiles: 88 KB, two APP2 markers
def test_the_array_jpeg_encoder_writes_pillows_bytes(chelsea, mode, profile_copies):
    from PIL import ImageCms

    from removal.encode import image_encode, jpeg_encode_array

    image = chelsea.convert(mode)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() * profile_copies or None
    expected = image_encode(image, "jpeg", icc_profile=profile)
    assert jpeg_encode_array(np.array(image), icc_profile=profile) == expected


@pytest.mark.parametrize("fields", [{"angle": "30"}, {"angle": "-20", "expand": "false", "mask": "true"},
                                    {"angle": "45", "bg_color": "#336699"}])
def test_a_jpeg_at_any_angle_is_the_rotated_image_pillow_would_encode(monkeypatch, loaded_chelsea, chelsea_mask,
                                                                      fields):
    """Rotated as one array and encoded by OpenCV (no Pillow image of the rotation: 4 bytes a
    pixel), yet the bytes rotate() + image_encode write."""
    from removal import render as render_module
    from removal.encode import image_encode, jpeg_encode_array
    from removal.rotate import rotate

    arrays = []
    monkeypatch.setattr(render_module, "jpeg_encode_array",
                        lambda pixels, **kw: arrays.append(pixels.shape) or jpeg_encode_array(pixels, **kw))
    options = options_parse({"format": "jpg", **fields})
    result = render(loaded_chelsea, chelsea_mask, options)
    assert arrays == [(result.height, result.width, 3) if "mask" not in fields else (result.height, result.width)]
    unrotated = options_parse({"format": "jpg", **fields, "angle": "0"})
    out, fill = render_module.compose(loaded_chelsea.image, chelsea_mask, unrotated)
    rotated = rotate(out, options.angle, options.expand, fill)
    assert (result.width, result.height) == rotated.size
    assert result.data == image_encode(rotated, "jpeg", icc_profile=loaded_chelsea.icc_profile)
