"""removal.decode: extension, empty, size, signature, dimensions before decoding, bombs, modes."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image

from removal.decode import LoadedImage, image_load
from removal.errors import ImageRejected

from .conftest import encode, png_header_only

INVALID = "File does not appear to be a valid image (invalid file signature)"


def _rejected(data: bytes, filename: str) -> str:
    with pytest.raises(ImageRejected) as caught:
        image_load(data, filename)
    assert caught.value.status == 400
    return caught.value.message


@pytest.mark.parametrize("filename,ext", [("virus.exe", ".exe"), ("x.GIF", ".gif"), ("noext", "")])
def test_it_refuses_extensions_outside_the_allow_list(chelsea_jpeg, filename, ext):
    assert _rejected(chelsea_jpeg, filename) == (
        f"File type '{ext}' is not supported. Allowed formats: webp, bmp, png, jpg, jpeg"
    )


@pytest.mark.parametrize("filename", ["a.webp", "a.bmp", "a.png", "a.jpg", "a.JPEG"])
def test_it_accepts_every_allowed_extension_whatever_the_content_format(chelsea_jpeg, filename):
    assert image_load(chelsea_jpeg, filename).source_format == "jpeg"


def test_it_refuses_an_empty_file():
    assert _rejected(b"", "a.png") == "Uploaded file is empty (0 bytes)."


def test_it_refuses_files_over_50_mb_showing_one_decimal():
    data = b"\x89PNG\r\n\x1a\n" + b"\0" * (int(55.2 * 1024 * 1024) - 8)
    assert _rejected(data, "a.png") == "File size (55.2 MB) exceeds the maximum allowed size of 50 MB."


def test_it_refuses_bytes_that_are_not_an_image_even_with_a_png_name():
    assert _rejected(b"MZ\x90\x00 this is an executable", "photo.png") == INVALID


def test_it_refuses_a_gif_named_png(chelsea):
    assert _rejected(encode(chelsea, "GIF"), "photo.png") == INVALID


def test_it_refuses_corrupt_bytes_behind_a_png_signature():
    assert _rejected(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "photo.png") == INVALID


def test_it_refuses_a_truncated_jpeg(chelsea_jpeg):
    assert _rejected(chelsea_jpeg[: len(chelsea_jpeg) // 2], "photo.jpg") == INVALID


def test_it_refuses_a_png_with_corrupt_pixel_data(chelsea):
    data = bytearray(encode(chelsea, "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 50 : idat + 250] = b"\xaa" * 200
    assert _rejected(bytes(data), "photo.png") == INVALID


def test_it_refuses_a_10001_wide_image_from_its_header():
    data = encode(Image.new("RGB", (10001, 1)), "PNG")
    assert _rejected(data, "wide.png") == (
        "Image width (10001px) exceeds the maximum allowed width of 10000px."
    )


def test_it_refuses_a_15000_tall_image_from_its_header():
    data = encode(Image.new("L", (1, 15000)), "PNG")
    assert _rejected(data, "tall.png") == (
        "Image height (15000px) exceeds the maximum allowed height of 10000px."
    )


def test_it_refuses_a_tiny_png_declaring_40000_by_40000_before_decoding():
    data = png_header_only(40000, 40000)
    assert len(data) < 200
    # Decoding would fail on the missing pixels and report a bad signature; the size message
    # proves the refusal came from the header alone.
    assert _rejected(data, "bomb.png") == (
        "Image width (40000px) exceeds the maximum allowed width of 10000px."
    )


def test_it_refuses_a_jpeg_whose_header_declares_40000_by_40000(chelsea_jpeg):
    data = bytearray(chelsea_jpeg)
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (40000).to_bytes(2, "big") * 2  # height, width
    assert _rejected(bytes(data), "bomb.jpg") == (
        "Image width (40000px) exceeds the maximum allowed width of 10000px."
    )


def test_it_refuses_a_bmp_whose_header_declares_a_huge_height():
    data = bytearray(encode(Image.new("RGB", (4, 4)), "BMP"))
    data[22:26] = (40000).to_bytes(4, "little", signed=True)
    assert _rejected(bytes(data), "bomb.bmp") == (
        "Image height (40000px) exceeds the maximum allowed height of 10000px."
    )


def test_it_trusts_the_content_not_the_name(chelsea):
    loaded = image_load(encode(chelsea, "PNG"), "photo.jpg")
    assert loaded.source_format == "png"
    assert loaded.image.size == chelsea.size


def test_it_applies_exif_orientation_and_keeps_no_metadata():
    image = Image.new("RGB", (200, 100), "white")
    image.paste((255, 0, 0), (0, 0, 20, 20))  # red square top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    exif[0x010F] = "Camera maker"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)  # GPS latitude
    loaded = image_load(encode(image, "JPEG", exif=exif, quality=95), "phone.jpg")
    assert loaded.image.size == (100, 200)
    # Turned clockwise, the stored top-left corner is now top-right.
    red, green, blue = loaded.image.getpixel((90, 5))
    assert red > 200 and green < 60 and blue < 60
    assert loaded.image.info == {}
    assert not loaded.image.getexif()


def test_it_flattens_cmyk_to_rgb():
    data = encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG", quality=95)
    loaded = image_load(data, "print.jpg")
    assert loaded.image.mode == "RGB"
    red, green, blue = loaded.image.getpixel((10, 10))
    assert red > 200 and green < 60 and blue < 60


def test_it_scales_16_bit_greyscale_instead_of_clipping_it():
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (16, 1))
    data = encode(Image.fromarray(ramp), "PNG")
    loaded = image_load(data, "scan.png")
    assert loaded.image.mode == "RGB"
    values = np.asarray(loaded.image)[0, :, 0]
    assert values[0] == 0 and values[-1] == 255 and 120 < values[128] < 136


def test_it_scales_float_greyscale():
    data = encode(Image.fromarray(np.full((8, 8), 0.5, dtype=np.float32), mode="F"), "TIFF")
    from removal.decode import _to_8bit

    assert np.asarray(_to_8bit(Image.open(io.BytesIO(data))))[0, 0] == 127


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_it_ignores_unreadable_exif_and_keeps_the_pixels(chelsea):
    data = bytearray(encode(chelsea, "JPEG", exif=b"Exif\x00\x00MM\x00*\xff\xff\xff\xff"))
    loaded = image_load(bytes(data), "odd.jpg")
    assert loaded.image.size == chelsea.size


def test_it_keeps_palette_transparency_as_alpha():
    image = Image.new("P", (32, 32), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (0, 0, 16, 32))
    data = encode(image, "PNG", transparency=1)
    loaded = image_load(data, "logo.png")
    assert loaded.image.mode == "RGBA" and loaded.has_alpha
    assert loaded.image.getpixel((4, 4))[3] == 0 and loaded.image.getpixel((28, 4)) == (255, 0, 0, 255)


@pytest.mark.parametrize("mode", ["L", "LA", "1", "P"])
def test_it_converts_other_modes_to_rgb_or_rgba(chelsea, mode):
    loaded = image_load(encode(chelsea.convert(mode), "PNG"), "x.png")
    assert loaded.image.mode == ("RGBA" if mode == "LA" else "RGB")


def test_it_takes_the_first_frame_of_an_animated_webp():
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue", "lime")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    loaded = image_load(buffer.getvalue(), "anim.webp")
    assert loaded.image.size == (40, 30)
    assert loaded.image.convert("RGB").getpixel((20, 15)) == (255, 0, 0)


def test_it_decodes_a_bmp_and_a_webp(chelsea):
    for fmt, name in (("BMP", "a.bmp"), ("WEBP", "a.webp")):
        loaded = image_load(encode(chelsea, fmt), name)
        assert isinstance(loaded, LoadedImage)
        assert loaded.image.size == chelsea.size and loaded.image.mode == "RGB"


def test_it_decodes_10000_by_10000_without_a_pillow_bomb_warning():
    data = encode(Image.new("L", (10000, 10000), 90), "PNG")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = image_load(data, "big.png")
    assert loaded.image.size == (10000, 10000)


def test_it_lets_a_failure_that_is_not_the_uploads_fault_through(chelsea_jpeg, monkeypatch):
    """Only Pillow's decode errors mean "not a valid image": running out of memory (or a bug of ours)
    must reach the caller as itself, a logged 500, not a silent 400 blaming the upload."""
    from removal import decode

    def no_memory(*args):
        raise MemoryError()

    monkeypatch.setattr(decode, "_normalize_mode", no_memory)
    with pytest.raises(MemoryError):
        image_load(chelsea_jpeg, "c.jpg")
