"""Upload bytes → an upright RGB/RGBA image, refusing anything SPEC §1 does not accept.

Order of checks: extension (by filename), empty, size, signature (by content: the name and the
Content-Type never decide), dimensions read from the header, and only then pixel decoding.
Dimensions are read by constructing Pillow's format plugin directly, which parses the header
but no pixels, so a tiny file declaring 40000×40000 is refused before any allocation.
"""

import io
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import BmpImagePlugin, Image, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from removal.errors import ImageRejected

ALLOWED_EXTENSIONS = ("webp", "bmp", "png", "jpg", "jpeg")
MAX_BYTES = 50 * 1024 * 1024
MAX_SIDE = 10000
# Our own decompression-bomb limit. Pillow only warns at ~89 MP and refuses at ~179 MP; we
# refuse anything above MAX_SIDE per side from the header, so at most 100 MP ever decode.
MAX_PIXELS = MAX_SIDE * MAX_SIDE
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # so a legal 10000×10000 does not trigger Pillow's warning

# A JPEG asked for a much smaller output is decoded at 1/2, 1/4 or 1/8 by DCT scaling (Pillow's
# draft): 48 MP at 1/2 takes 110 instead of 210 ms and 48 instead of 192 MB. Never below this on
# either side (6× the model's 320: at 1/4 the 48 MP mosaic's mask fell to IoU 0.989), so the masks
# keep the IoU bar (tests/removal/test_draft.py).
DRAFT_MIN_SIDE = 1920

# What Pillow raises for bytes it cannot parse or decode (a corrupt header, truncated or broken
# pixel data). Anything else — MemoryError, a bug of ours — is not the upload's fault: it must
# reach the caller as a logged JSON 500, never as a silent 400 "invalid signature".
PILLOW_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError,
                        Image.DecompressionBombError)

_ORIENTATION = 0x0112
INVALID_SIGNATURE = "File does not appear to be a valid image (invalid file signature)"

_PLUGINS: dict[str, type[ImageFile.ImageFile]] = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.JpegImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
    "bmp": BmpImagePlugin.BmpImageFile,
}


@dataclass
class LoadedImage:
    """A decoded upload: EXIF orientation applied, mode RGB or RGBA (or "P" where the caller asked
    image_pixels to keep a palette), no metadata kept."""

    image: Image.Image
    source_format: str  # "png" | "jpeg" | "webp" | "bmp", from the content
    icc_profile: bytes | None = field(default=None, repr=False)
    # The upload's upright size when the pixels were decoded smaller (a JPEG draft), else None.
    original_size: tuple[int, int] | None = None
    # The U²-Net family's input, prepared from a smaller decode beside this one (removal.pipeline
    # for a large JPEG), else None: removal.segment.ModelInput's data.
    model_input: Any = field(default=None, repr=False)

    def take(self) -> Image.Image:
        """Hand the pixels over to the caller (which may free or reuse them); self keeps none."""
        image = self.image
        self.image = None  # type: ignore[assignment]  # taken: using it again is a bug
        return image

    @property
    def size_uploaded(self) -> tuple[int, int]:
        """The upload's upright size: what output sizes and subject boxes are measured in."""
        return self.original_size or self.image.size

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    @property
    def has_alpha(self) -> bool:
        return self.image.mode == "RGBA"


def signature_sniff(data: bytes) -> str | None:
    """The image format the bytes start with, or None when it is none we accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"BM"):
        return "bmp"
    return None


def _check_name(filename: str) -> None:
    ext = os.path.splitext(filename)[1].lower()
    if ext.lstrip(".") not in ALLOWED_EXTENSIONS:
        raise ImageRejected(
            f"File type '{ext}' is not supported. Allowed formats: {', '.join(ALLOWED_EXTENSIONS)}"
        )


def size_error(nbytes: int) -> ImageRejected | None:
    """The refusal for an empty or an over-limit upload, if any (the ASGI layer asks this of
    Content-Length before the body is read)."""
    if nbytes == 0:
        return ImageRejected("Uploaded file is empty (0 bytes).")
    if nbytes > MAX_BYTES:
        size = f"{nbytes / 1024**2:.1f}"
        return ImageRejected(
            f"File size ({size} MB) exceeds the maximum allowed size of {MAX_BYTES // 1024**2} MB."
        )
    return None


def _check_bytes(data: bytes) -> str:
    error = size_error(len(data))
    if error is not None:
        raise error
    kind = signature_sniff(data)
    if kind is None:
        raise ImageRejected(INVALID_SIGNATURE)
    return kind


def _open_header(data: bytes, kind: str) -> ImageFile.ImageFile:
    """Parse the header only (no pixels, and no Pillow bomb check that would hide the size)."""
    try:
        return _PLUGINS[kind](io.BytesIO(data))
    except PILLOW_DECODE_ERRORS:
        raise ImageRejected(INVALID_SIGNATURE) from None


def _check_dimensions(width: int, height: int) -> None:
    if width > MAX_SIDE:
        raise ImageRejected(f"Image width ({width}px) exceeds the maximum allowed width of {MAX_SIDE}px.")
    if height > MAX_SIDE:
        raise ImageRejected(
            f"Image height ({height}px) exceeds the maximum allowed height of {MAX_SIDE}px."
        )
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise ImageRejected(INVALID_SIGNATURE)


def _to_8bit(image: Image.Image) -> Image.Image:
    """16/32-bit integer and float greyscale → 8-bit L by scaling, not by clipping at 255."""
    array = np.asarray(image)
    if image.mode == "F":
        scaled = array * 255.0 if array.max() <= 1.0 else array  # 0..1 floats, else 0..255
    else:
        scaled = array.astype(np.int64) >> 8 if array.max() > 255 else array  # 16-bit range
    return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), mode="L")


def _normalize_mode(image: Image.Image, keep_palette: bool = False) -> Image.Image:
    if keep_palette and image.mode == "P" and not image.has_transparency_data:
        return image
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        image = _to_8bit(image)
    if image.mode in ("RGB", "RGBA"):
        if image.mode == "RGB" and image.has_transparency_data:
            return image.convert("RGBA")
        return image
    if image.has_transparency_data or image.mode in ("LA", "PA", "La", "RGBa"):
        return image.convert("RGBA")
    return image.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB...


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION, 1))
    except Exception:  # unreadable EXIF: the pixels are still fine, show them as stored
        return 1


def image_probe(data: bytes, filename: str) -> ImageFile.ImageFile:
    """Every check that needs no pixels (name, size, signature, dimensions): cheap, so it can
    run before the request waits for pixels. Raises ImageRejected with SPEC's exact message."""
    _check_name(filename)
    kind = _check_bytes(data)
    header = _open_header(data, kind)
    _check_dimensions(*header.size)
    return header


def jpeg_upright_size(header: ImageFile.ImageFile) -> tuple[int, int] | None:
    """A JPEG upload's size once its EXIF orientation is applied; None for other formats. (A JPEG's
    EXIF is parsed with its header; other plugins may decode the pixels to find theirs.)"""
    if not isinstance(header, JpegImagePlugin.JpegImageFile):
        return None
    width, height = header.size
    return (height, width) if _orientation(header) in (5, 6, 7, 8) else (width, height)


def _draft(header: ImageFile.ImageFile, at_least: tuple[int, int]) -> tuple[int, int] | None:
    """Ask a JPEG for a DCT-scaled decode (1/2, 1/4 or 1/8) no smaller than `at_least` (upright)
    nor than DRAFT_MIN_SIDE a side. Returns the upload's upright size when it will decode smaller."""
    uploaded = jpeg_upright_size(header)
    if uploaded is None:
        return None
    want_w, want_h = at_least
    if uploaded != header.size:
        want_w, want_h = want_h, want_w  # the draft is asked in stored orientation
    want = (max(want_w, DRAFT_MIN_SIDE), max(want_h, DRAFT_MIN_SIDE))
    if want[0] * 2 > header.width or want[1] * 2 > header.height:
        return None  # not even half the size would do
    header.draft(header.mode, want)
    return uploaded


def image_pixels(header: ImageFile.ImageFile, *, at_least: tuple[int, int] | None = None,
                 keep_palette: bool = False) -> LoadedImage:
    """Decode a probed upload's pixels: upright, RGB or RGBA (a palette expands once).

    at_least: the upright size the caller needs at most from here on (its output size); a JPEG
    far larger than that is then decoded smaller by DCT scaling (see DRAFT_MIN_SIDE), and the
    result remembers the upload's own size in `original_size`. keep_palette: an opaque palette
    image stays "P" (1 byte a pixel, RGB takes 4) for a caller that expands it where it needs to
    (removal.pipeline)."""
    kind = (header.format or "").lower()  # the plugin _open_header chose from the signature
    source_mode = header.mode
    icc = header.info.get("icc_profile")
    try:
        uploaded = _draft(header, at_least) if at_least is not None else None
        header.seek(0)  # animated WebP/PNG: the first frame
        header.load()
        if _orientation(header) != 1:
            ImageOps.exif_transpose(header, in_place=True)  # no copy: 48 MP is 144 MB
        image = _normalize_mode(header, keep_palette)
    except PILLOW_DECODE_ERRORS:  # truncated or corrupt pixel data; anything else is our 500
        raise ImageRejected(INVALID_SIGNATURE) from None
    if image is header:
        # A plain Image around the same pixels (no copy): the plugin object still holds the
        # raw EXIF/APP segments and the parsed EXIF cache.
        header.info = {}
        image = header._new(header.im)
    image.info = {}  # no EXIF, GPS, XMP, comments in anything we produce
    keep_icc = icc if source_mode in ("RGB", "RGBA") else None  # CMYK profiles do not fit RGB
    original = uploaded if uploaded is not None and image.size != uploaded else None
    return LoadedImage(image=image, source_format=kind, icc_profile=keep_icc, original_size=original)


def image_load(data: bytes, filename: str) -> LoadedImage:
    """Validate and decode an upload. Raises ImageRejected with SPEC's exact message."""
    return image_pixels(image_probe(data, filename))
