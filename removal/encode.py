"""Image → bytes with encoder settings chosen by measurement (see bench/pipeline.py).

Saving dominated the anchor: rembg's PNG at zlib level 6 and Pillow's WEBP at method 4 spend
seconds on a 12 MP cut-out. Measured on a 12 MP cut-out (2 shared cores, medians):
  PNG  level 1: 0.7 s, 13 MB      PNG  level 6: 2.0 s, 11 MB    (colour zeroed under alpha 0)
  WEBP m0 q85:  0.5 s, 0.5 MB     WEBP m4 q80:  1.7 s, 0.25 MB   WEBP m6: 12 s
On a 1.6 MP photo, WEBP m0 q85 gives 42.4 dB PSNR (q80: 40.9 dB; m4 q85: 42.8 dB at 4× the time).
The alpha plane is most of a WEBP cut-out's encoding time (1.6 MP: RGB alone 30 ms, RGBA 81 ms);
alpha_quality 90 keeps 176 alpha levels (error < 1/255) and brings that to 63 ms. Cut-outs of
opaque uploads (nearly all) skip Pillow's RGBA encoder: removal.webp feeds libwebp strips of
colour and writes the alpha with removal.alpha (render.py); `webp_encode_planes` (colour and an
exact, filtered alpha side by side through Pillow) remains where libwebp cannot be loaded.
JPEG through libjpeg-turbo is cheap at any quality (1.6 MP: 4 ms), so it gets a high one; a
rotated JPEG is encoded from an array by OpenCV's libjpeg-turbo, the same bytes (jpeg_encode_array).
PNG cut-outs (RGB/RGBA) go through fpng (PyPI `fpng`, lossless, SSE-accelerated deflate):
measured on real photos (bench/photos.py), people 1.57 MP: 39 ms / 1867 KiB against Pillow
level 1's 273 ms / 1506 KiB; mosaic12: 412 ms / 16.2 MB against 2609 ms / 14.3 MB — 6-7× faster
for 13-24 % more bytes. It needs one copy of the pixels (tobytes), so above LARGE_IMAGE_PIXELS
Pillow's streaming encoder stays; so does mode "L" (masks), which fpng does not write.
"""

import functools
import io
import struct
import zlib

import cv2
import numpy as np
from PIL import Image

from removal.pool import both

try:  # a wheel for every platform we build on; Pillow is the fallback anywhere else
    import fpng as _fpng
except ImportError:  # pragma: no cover
    _fpng = None

# Above this, Pillow's row-streaming PNG encoder (fpng copies the pixels first). Same figure as
# removal.segment.LARGE_IMAGE_PIXELS, not imported to keep encode free of onnxruntime.
_FPNG_MAX_PIXELS = 16_000_000

_FILTER_ROWS = 256  # rows filtered per numpy step (bounds the temporary copy of the overlap)

CONTENT_TYPES = {"webp": "image/webp", "png": "image/png", "jpeg": "image/jpeg", "bmp": "image/bmp"}
FORMATS_WITH_ALPHA = frozenset({"webp", "png"})

# Lossy WEBP at the fastest method; near-lossless alpha (see above).
WEBP_SETTINGS = {"quality": 85, "method": 0, "alpha_quality": 90}
# zlib level 1: ~3× faster than level 6 for ~15 % more bytes on photos.
PNG_SETTINGS = {"compress_level": 1, "optimize": False}
JPEG_SETTINGS = {"quality": 90, "optimize": False}


def _fpng_fits(image: Image.Image) -> bool:
    small = image.width * image.height < _FPNG_MAX_PIXELS
    return _fpng is not None and image.mode in ("RGB", "RGBA") and small


def image_encode(image: Image.Image, fmt: str, *, icc_profile: bytes | None = None) -> bytes:
    """Encode to `fmt` ("webp", "png", "jpeg", "bmp"). Never writes EXIF or other metadata."""
    buffer = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile and image.mode in ("RGB", "RGBA") else {}
    if fmt == "webp":
        image.save(buffer, "WEBP", **WEBP_SETTINGS, **extra)
    elif fmt == "png":
        if _fpng_fits(image):
            return _png_iccp_insert(_fpng.from_pil(image), extra.get("icc_profile"))
        image.save(buffer, "PNG", **PNG_SETTINGS, **extra)
    elif fmt == "jpeg":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, "JPEG", **JPEG_SETTINGS, **extra)
    elif fmt == "bmp":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, "BMP")
    else:
        raise ValueError(f"unknown output format {fmt!r}")
    return buffer.getvalue()


_JPEG_ICC_CHUNK = 65519  # a marker's 65535 bytes less its length field and ICC_PROFILE's 14-byte header
_SWAP_ROWS = 256  # rows per in-place channel swap: a band stays in cache


def jpeg_encode_array(pixels: np.ndarray, *, icc_profile: bytes | None = None) -> bytes:
    """An "L" (rows × columns) or RGB (× 3) array → the JPEG image_encode writes of it, byte for
    byte (OpenCV's libjpeg-turbo at JPEG_SETTINGS, which are libjpeg's defaults but the quality),
    without a Pillow image of it (4 bytes a pixel). Takes ownership: an RGB array's channels are
    swapped in place, band by band, since OpenCV reads BGR (91 MP: 44 ms; numpy's reversed view
    takes 0.6 s)."""
    if pixels.ndim == 3:
        for top in range(0, pixels.shape[0], _SWAP_ROWS):
            band = pixels[top:top + _SWAP_ROWS]
            cv2.cvtColor(band, cv2.COLOR_RGB2BGR, dst=band)
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_SETTINGS["quality"]])
    if not ok:  # pragma: no cover - not seen with a uint8 L or RGB array, the only kinds passed here
        raise ValueError("the JPEG encoder refused the image")
    jpeg = encoded.tobytes()
    if not icc_profile or pixels.ndim != 3:
        return jpeg
    # As Pillow writes a profile: APP2 ICC_PROFILE markers right after the JFIF APP0 segment.
    after_app0 = 4 + int.from_bytes(jpeg[4:6], "big")
    pieces = [icc_profile[i:i + _JPEG_ICC_CHUNK] for i in range(0, len(icc_profile), _JPEG_ICC_CHUNK)]
    markers = b"".join(b"\xff\xe2" + struct.pack(">H", 2 + 14 + len(piece)) + b"ICC_PROFILE\0"
                       + bytes((number, len(pieces))) + piece for number, piece in enumerate(pieces, 1))
    return jpeg[:after_app0] + markers + jpeg[after_app0:]


def _png_chunk(tag: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))


def _png_iccp_insert(png: bytes, icc_profile: bytes | None) -> bytes:
    """Add an iCCP chunk right after IHDR (8-byte signature + 25-byte IHDR chunk), as Pillow writes it."""
    if not icc_profile:
        return png
    return png[:33] + png_iccp_chunk(icc_profile) + png[33:]


def png_iccp_chunk(icc_profile: bytes) -> bytes:
    """The iCCP chunk of a profile, named as Pillow names it."""
    return _png_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc_profile))


def _riff_chunks(data: bytes) -> dict[bytes, bytes]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WEBP file")
    chunks, pos = {}, 12
    while pos + 8 <= len(data):
        tag, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunks[tag] = data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    return chunks


def _riff_chunk(tag: bytes, payload: bytes) -> bytes:
    return tag + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def _alpha_filtered(alpha: np.ndarray) -> np.ndarray:
    """WebP's vertical alpha filter, in place: each value minus the one above it (mod 256), the
    top row minus its left neighbour. A mask's rows change little from one to the next, so the
    differences compress to ~60 % of the bytes of the plane itself (people.jpg: 142 → 86 KiB)."""
    for end in range(alpha.shape[0], 1, -_FILTER_ROWS):  # bottom up: the row above is still original
        start = max(1, end - _FILTER_ROWS)
        alpha[start:end] -= alpha[start - 1 : end - 1]  # numpy buffers the overlap
    alpha[0, 1:] -= alpha[0, :-1].copy()
    return alpha


def _alph_encode(holder: list[Image.Image]) -> bytes:
    """The ALPH chunk of the alpha plane (mode "L") in `holder`, which it takes (and frees as soon
    as it has its own copy): vertically filtered, then a lossless VP8L stream."""
    filtered = _alpha_filtered(np.array(holder.pop()))  # our own copy, filtered in place
    # Pillow's WEBP encoder takes RGB, not L (the VP8L stream keeps the green channel).
    plane = Image.fromarray(filtered).convert("RGB")
    del filtered
    buffer = io.BytesIO()
    plane.save(buffer, "WEBP", lossless=True, quality=0, method=0)
    del plane
    vp8l = _riff_chunks(buffer.getvalue())[b"VP8L"]
    # 1 header byte (no pre-processing, filter 2 = vertical, compression 1 = lossless), then
    # the VP8L image stream without its 5-byte header (signature + dimensions, implicit here).
    return b"\x09" + vp8l[5:]


def _vp8_encode(rgb: Image.Image) -> bytes:
    buffer = io.BytesIO()
    rgb.save(buffer, "WEBP", quality=WEBP_SETTINGS["quality"], method=WEBP_SETTINGS["method"])
    return _riff_chunks(buffer.getvalue())[b"VP8 "]


def webp_encode_planes(planes: list[Image.Image], *, icc_profile: bytes | None = None,
                       side_by_side: bool = False) -> bytes:
    """WEBP (lossy colour + lossless alpha) from [rgb, alpha].

    The colour (VP8) and the alpha (ALPH: a vertically filtered VP8L stream) are encoded apart and
    assembled into the standard extended container (VP8X, ICCP?, ALPH, VP8) that every WEBP
    decoder reads. Against Pillow's RGBA encoder (alpha_quality 90) on people.jpg: exact alpha
    instead of ±1, 255 instead of 264 KiB, and the two halves can run at once.

    side_by_side: encode them at the same time (removal.pool.both): 75 → ~40 ms at 1.6 MP.
    Otherwise one after the other with the colour plane dropped in between, for a bounded memory
    peak: Pillow's RGBA encoder holds the RGBA image, its ARGB copy, the YUVA planes and the
    alpha encoder's buffers all at once (~900 MB on top of the image at 48 MP).
    Takes ownership: `planes` is emptied so the caller holds no reference to free.
    """
    rgb = planes.pop(0)
    width, height = rgb.size
    if side_by_side:
        vp8, alph = both(functools.partial(_vp8_encode, rgb), functools.partial(_alph_encode, planes))
    else:
        vp8 = _vp8_encode(rgb)
        del rgb
        alph = _alph_encode(planes)  # takes the alpha plane out of `planes`
    body = [_riff_chunk(b"VP8X", struct.pack("<B3x", 0x10 | (0x20 if icc_profile else 0))
                        + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"))]
    if icc_profile:
        body.append(_riff_chunk(b"ICCP", icc_profile))
    body += [_riff_chunk(b"ALPH", alph), _riff_chunk(b"VP8 ", vp8)]
    payload = b"WEBP" + b"".join(body)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload
