"""Mask + image + options → output image bytes: compose, background, resize, rotate, encode.

SPEC order is segment → mask or cut-out → background colour → resize → rotate → encode. All of
those steps are per-pixel, so we resize the inputs first and do the rest at the output size:
the result is the same, and a 48 MP photo asked for at 800 px costs an 800 px render.
"""

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from PIL import Image, ImageChops

from removal import webp
from removal.config import env_read
from removal.decode import MAX_SIDE, LoadedImage
from removal.encode import (
    CONTENT_TYPES,
    FORMATS_WITH_ALPHA,
    WEBP_SETTINGS,
    image_encode,
    jpeg_encode_array,
    png_iccp_chunk,
    webp_encode_planes,
)
from removal.options import RGBA, RemovalOptions
from removal.png import png_encode_strips
from removal.rotate import Rotation, exact_turn, rotate, rotated_array, rotation, rows_rotated
from removal.segment import LARGE_IMAGE_PIXELS

Progress = Callable[[str], None] | None
_WHITE: RGBA = (255, 255, 255, 255)
_LANCZOS = Image.Resampling.LANCZOS
_REDUCING_GAP = 3.0

_malloc_trim: Callable[[int], int] | None
_libc: ctypes.CDLL | None
try:
    _libc = ctypes.CDLL("libc.so.6")
    _malloc_trim = _libc.malloc_trim
except (OSError, AttributeError):  # not glibc: nothing to trim
    _libc = _malloc_trim = None

# glibc serves a block from the heap once a block that size has been freed (its mmap threshold
# grows up to 32 MB), and heap memory is not given back while anything above it lives: image
# buffers of finished requests stay resident under the next big one. A fixed 1 MiB threshold
# maps every image-sized block and returns it on free. Measured, 48 MP WEBP cut-out after a
# burst of small requests: peak 937 → 883 MiB, rotated 1034 → 944 MiB. Set
# PIPELINE_MMAP_THRESHOLD=0 to keep glibc's default.
_MMAP_THRESHOLD = env_read("PIPELINE_MMAP_THRESHOLD", 1024 * 1024)
if _libc is not None and _MMAP_THRESHOLD > 0:
    _libc.mallopt(-3, _MMAP_THRESHOLD)  # M_MMAP_THRESHOLD


def heap_trim() -> None:
    """Give freed heap memory back to the OS (glibc keeps it otherwise; mmap'ed blocks can't use it)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


@dataclass(frozen=True)
class RenderResult:
    # Not in the repr: asyncio.run (Python 3.11) formats its finished task's repr, result included,
    # and a megabyte of bytes took ~25 ms to format, twice per remove_background.
    data: bytes = field(repr=False)
    content_type: str
    width: int
    height: int
    format: str


def output_size(size: tuple[int, int], options: RemovalOptions) -> tuple[int, int]:
    """The size before rotation: one side → keep aspect; both → fit inside, or exact."""
    width, height = size
    w, h = options.width, options.height
    if w and h and options.exact_resize:
        return w, h
    if w and h:
        scale = min(w / width, h / height)
    elif w:
        scale = w / width
    elif h:
        scale = h / height
    else:
        return width, height
    # One side of 10000 on a 1:100 image would ask for a million pixels on the other side.
    scale = min(scale, MAX_SIDE / width, MAX_SIDE / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flatten_color(color: RGBA | None) -> tuple[int, int, int]:
    """The opaque colour a no-alpha format shows: bg_color over white, or white."""
    r, g, b, a = color or _WHITE
    return tuple(round((c * a + 255 * (255 - a)) / 255) for c in (r, g, b))  # type: ignore[return-value]


def compose(source: Image.Image, mask: Image.Image, options: RemovalOptions, *, owned: bool = False,
            size: tuple[int, int] | None = None) -> tuple[Image.Image, int | tuple]:
    """The output image before rotation, and the colour rotation should fill new corners with.

    Works at the output size: `source` and `mask` are resized first when they differ from it.
    With `owned=True` the caller gives up `source`, and a cut-out reuses its pixels in place
    (Pillow stores RGB in 4 bytes a pixel, so RGB → RGBA costs nothing): 192 MB less at 48 MP.
    `size`: the output size when `source` was decoded smaller than the upload it stands for.
    """
    size = size or output_size(source.size, options)
    if mask.size != size:
        mask = mask.resize(size, _LANCZOS)
    if options.mask and source.mode != "RGBA":
        return mask, 0
    if source.size != size:
        source = source.resize(size, _LANCZOS, reducing_gap=_REDUCING_GAP)
        owned = True
    alpha = mask
    if source.mode == "RGBA":  # the upload's own transparency stays transparent
        alpha = ImageChops.multiply(mask, source.getchannel("A"))
    if options.mask:
        return alpha, 0
    bg = options.bg_color
    if options.format not in FORMATS_WITH_ALPHA or (bg is not None and bg[3] == 255):
        color = _flatten_color(bg)
        if source.mode == "RGBA":
            out = source.convert("RGB")
        else:
            out = source if owned else source.copy()
        del source
        _flatten(out, alpha, color)
        return out, color
    if bg is not None:  # translucent background colour: the result keeps some alpha
        cut = source.convert("RGBA")
        cut.putalpha(alpha)
        return Image.alpha_composite(Image.new("RGBA", size, bg), cut), bg
    out = source if owned else source.copy()
    if options.format == "png":
        # Zero the colour under fully transparent pixels: PNG then compresses (and saves) ~2×
        # faster. WEBP does the same itself (exact=False). In place: the pixels of pasting onto a
        # new transparent canvas, without the canvas (people.jpg: composite 10 → 7 ms).
        _hidden_blank(out, alpha)
    out.putalpha(alpha)
    return out, (0, 0, 0, 0)


def _flatten(image: Image.Image, alpha: Image.Image, color: tuple[int, int, int]) -> None:
    """`image` over `color` through `alpha`, in place and band by band: the same pixels as pasting
    `image` on a new canvas of `color` (Pillow blends both ways with one rounding of
    in·m + out·(255 − m)), without a second full-size RGB image (48 MP: 192 MB) or a whole inverted
    mask."""
    width, height = image.size
    for top in range(0, height, _FLATTEN_ROWS):
        box = (0, top, width, min(top + _FLATTEN_ROWS, height))
        image.paste(color, box, mask=ImageChops.invert(alpha.crop(box)))


_FLATTEN_ROWS = 512


def finish(out: Image.Image, fill, options: RemovalOptions, *, icc_profile: bytes | None = None,
           progress: Progress = None) -> RenderResult:
    """Rotate and encode a composed image."""
    return _finish_take([out], fill, options, icc_profile=icc_profile, progress=progress)


def _finish_take(held: list[Image.Image], fill, options: RemovalOptions, *, icc_profile: bytes | None,
                 progress: Progress) -> RenderResult:
    """finish, taking the composed image out of `held` (emptied) so it can be freed before the encode."""
    if options.mask:
        icc_profile = None
    if options.format == "webp" and held[0].mode in ("RGB", "L") and webp.available():
        return _webp_opaque(held, fill, options, icc_profile=icc_profile, progress=progress)
    turns = options.angle % 360
    if options.format == "jpeg" and held[0].mode in ("RGB", "L") and turns \
            and not exact_turn(turns, options.expand, held[0].size):
        return _jpeg_turned(held, fill, options, icc_profile=icc_profile, progress=progress)
    out = rotate(held.pop(), options.angle, options.expand, fill)
    if progress:
        progress("encoding")
    data = image_encode(out, options.format, icc_profile=icc_profile)
    return RenderResult(
        data=data, content_type=CONTENT_TYPES[options.format], width=out.width, height=out.height,
        format=options.format,
    )


def _jpeg_turned(held: list[Image.Image], fill, options: RemovalOptions, *, icc_profile: bytes | None,
                 progress: Progress) -> RenderResult:
    """A JPEG rotated by an angle that is not an exact turn: the rotation as one array (3 bytes a
    pixel) encoded by removal.encode.jpeg_encode_array, the bytes `rotate` + image_encode write. At
    48 MP, 30° with expand, beside the 192 MB composed image: 274 MB instead of Pillow's 365."""
    turn = rotation(held[0].size, options.angle, options.expand)
    pixels = rotated_array(held[0], turn, fill)
    held.clear()
    if progress:
        progress("encoding")
    data = jpeg_encode_array(pixels, icc_profile=icc_profile)
    return RenderResult(data=data, content_type=CONTENT_TYPES["jpeg"], width=turn.size[0],
                        height=turn.size[1], format="jpeg")


def _webp_opaque(held: list[Image.Image], fill, options: RemovalOptions, *, icc_profile: bytes | None,
                 progress: Progress) -> RenderResult:
    """An image without alpha (a flattened cut-out, "RGB", or a mask, "L") → WEBP through
    removal.webp, rotated band by band straight into the encoder's planes. Pillow's WEBP save
    converts to RGB and then ARGB first, and the rotation is a third full-size image: at 48 MP,
    30° expanded, 365 MB each. A mask band becomes RGB as Pillow would convert the whole mask.
    A band is those rows of removal.rotate's whole-image rotation."""
    turns = options.angle % 360
    if turns and exact_turn(turns, options.expand, held[0].size):
        held.append(rotate(held.pop(), turns, True, fill))
        turns = 0
    turn = rotation(held[0].size, options.angle, options.expand) if turns else None
    size = turn.size if turn else held[0].size

    def strip(top: int, bottom: int) -> tuple[Image.Image, None]:
        band = _band(held[0], top, bottom, turn, fill)
        return (band.convert("RGB") if band.mode == "L" else band), None

    if progress:
        progress("encoding")
    data = webp.encode_strips(size, strip, quality=WEBP_SETTINGS["quality"], method=WEBP_SETTINGS["method"],
                              icc_profile=icc_profile, release=held.clear, opaque=True)
    return RenderResult(data=data, content_type=CONTENT_TYPES["webp"], width=size[0], height=size[1],
                        format="webp")


def render(image: LoadedImage, mask: Image.Image, options: RemovalOptions, *, progress: Progress = None
           ) -> RenderResult:
    """Compose the output for `options` from a decoded image and its mask, and encode it.

    `image` is left untouched, so a caller can render it again (the editor re-renders).
    """
    if progress:
        progress("compositing")
    out, fill = compose(image.image, mask, options)
    return finish(out, fill, options, icc_profile=image.icc_profile, progress=progress)


def _planes_apply(source: Image.Image, options: RemovalOptions, size: tuple[int, int] | None = None) -> bool:
    """A cut-out of an opaque upload (colour and alpha kept apart until encoded, band by band): as
    WEBP always (encode.py, webp.py say why), as PNG from LARGE_IMAGE_PIXELS on (below, fpng's one
    piece is faster; above, removal.png writes it in strips on two cores)."""
    # A translucent bg_color is composited band by band (_bands); an opaque one flattens (compose).
    if options.mask or (options.bg_color is not None and options.bg_color[3] == 255) \
            or source.mode not in ("RGB", "P"):
        return False
    if options.bg_color is not None and options.format == "webp" and not webp.available():
        return False  # webp_encode_planes, the fallback, writes cut-outs only
    if options.format == "png":
        width, height = size or source.size
        return width * height >= LARGE_IMAGE_PIXELS
    return options.format == "webp"


def _palette_renders(source: Image.Image, options: RemovalOptions, size: tuple[int, int]) -> bool:
    """Whether render_take writes a palette ("P") source as it is, expanding it strip by strip: a
    cut-out at the upload's own size, unrotated, without a background colour (the planes path).
    Anything else expands the whole palette first. A 100 MP palette PNG so holds 100 MB of pixels
    through the encode, not 400 (removal.decode's keep_palette)."""
    return source.size == size and options.angle % 360 == 0 and options.bg_color is None \
        and (options.format == "png" or webp.available()) and _planes_apply(source, options, size)


def _band(image: Image.Image, top: int, bottom: int, turn: Rotation | None, fill,
          columns: tuple[int, int] | None = None) -> Image.Image:
    """Rows top..bottom of the output: a crop of `image`, or those rows of its rotation. `columns`:
    rotate only output columns x0..x1 (the rest is `fill`)."""
    if turn is None:
        band = image.crop((0, top, image.width, bottom))
        return band.convert("RGB") if band.mode == "P" else band  # _palette_renders
    return rows_rotated(image, top, bottom, turn, fill, columns)


def _crop_band(rgb: Image.Image, top: int, bottom: int) -> tuple[Image.Image, None]:
    return _band(rgb, top, bottom, None, None), None


def _bands(planes: list[Image.Image], turn: Rotation | None, bg: RGBA | None = None
           ) -> Callable[[int, int], tuple[Image.Image, Image.Image]]:
    """Bands of [rgb, alpha] (removal.webp / removal.png strip makers). Rotated, the colour is
    interpolated only across the alpha's non-zero columns of the band: the rest is blanked when
    encoded anyway, and the colour's 4 channels cost most of a rotation (a cut-out fills about
    half of its expanded canvas). `bg`: a translucent background colour, composited under each
    band (as compose does under the whole image; the rotated corners, alpha 0, become `bg` as
    rotation's fill made them)."""

    def band(top: int, bottom: int) -> tuple[Image.Image, Image.Image]:
        alpha = _band(planes[1], top, bottom, turn, 0)
        columns = None
        if turn is not None:
            box = alpha.getbbox()
            columns = (box[0], box[2]) if box else (0, 0)
        rgb = _band(planes[0], top, bottom, turn, (0, 0, 0), columns)
        if bg is None:
            return rgb, alpha
        cut = rgb.convert("RGBA")
        cut.putalpha(alpha)
        out = Image.alpha_composite(Image.new("RGBA", cut.size, bg), cut)
        return out.convert("RGB"), out.getchannel("A")

    return band


def _hidden_blank(rgb: Image.Image, alpha: Image.Image) -> None:
    """Black under alpha 0: hidden colour costs bytes and time (WEBP's RGBA encoder does the same)."""
    rgb.paste((0, 0, 0), mask=alpha.point(_ZERO_ONLY))


_ZERO_ONLY = [255] + [0] * 255


def _render_planes(planes: list[Image.Image], size: tuple[int, int], options: RemovalOptions, *,
                   icc_profile: bytes | None, progress: Progress) -> RenderResult:
    """[rgb, mask] → WEBP or PNG cut-out, taking ownership so each plane is freed once it is no longer
    needed.

    PNG (removal.png) and, with libwebp reachable (removal.webp), WEBP are written band by band, each band
    cropped (or, for an arbitrary angle, rotated by removal.rotate, band by band) from the two
    planes; the planes are dropped before the encode itself. The planes rotate apart (colour and
    alpha, not premultiplied as a whole RGBA image would): the colour only moves where it is
    nearly transparent, and the cut-out's fill (0, 0, 0, 0) is black colour under a zero alpha.
    """
    source, mask = planes
    planes.clear()
    if source.size != size:
        source = source.resize(size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    turns = options.angle % 360
    exact = exact_turn(turns, options.expand, source.size)
    if options.format == "png" or webp.available():
        if exact:
            source, mask = rotate(source, turns, True, 0), rotate(mask, turns, True, 0)
        turn = rotation(source.size, options.angle, options.expand) if turns and not exact else None
        out_size = turn.size if turn else source.size
        held = [source, mask]
        del source, mask
        if progress:
            progress("encoding")
        if options.format == "png":
            icc_chunk = png_iccp_chunk(icc_profile) if icc_profile else None
            data = png_encode_strips(out_size, _bands(held, turn, options.bg_color), icc_chunk=icc_chunk,
                                     release=held.clear)
        elif turn is None and options.bg_color is None:
            # The encoder's alpha plane is the mask itself: one full-size copy fewer (100 MP: 100 MB).
            # asarray: the read-only view of Pillow's tobytes; np.array copied that again (48 MP:
            # 167 → 64 ms, and 48 MB less at once).
            alpha = np.asarray(held.pop())
            data = webp.encode_strips(out_size, partial(_crop_band, held[0]),
                                      quality=WEBP_SETTINGS["quality"], method=WEBP_SETTINGS["method"],
                                      icc_profile=icc_profile, release=held.clear, alpha=alpha)
        else:
            data = webp.encode_strips(out_size, _bands(held, turn, options.bg_color),
                                      quality=WEBP_SETTINGS["quality"],
                                      method=WEBP_SETTINGS["method"], icc_profile=icc_profile,
                                      release=held.clear)
        return RenderResult(data=data, content_type=CONTENT_TYPES[options.format], width=out_size[0],
                            height=out_size[1], format=options.format)
    source = rotate(source, options.angle, options.expand, (0, 0, 0))
    mask = rotate(mask, options.angle, options.expand, 0)
    _hidden_blank(source, mask)
    width, height = source.size
    planes += [source, mask]
    del source, mask
    large = width * height >= LARGE_IMAGE_PIXELS
    if large:
        heap_trim()
    if progress:
        progress("encoding")
    # Side by side below LARGE_IMAGE_PIXELS (a lone request's encode on both cores); one plane
    # after the other above it, so a 48 MP cut-out stays under 1 GiB for the whole process.
    data = webp_encode_planes(planes, icc_profile=icc_profile, side_by_side=not large)
    return RenderResult(data=data, content_type=CONTENT_TYPES["webp"], width=width, height=height,
                        format="webp")


def render_take(planes: list[Image.Image], options: RemovalOptions, *, icc_profile: bytes | None = None,
                progress: Progress = None, size: tuple[int, int] | None = None) -> RenderResult:
    """[source, mask] → the encoded output, taking ownership of both (the list is emptied).

    The memory-bounded path: the source's pixels are reused for a cut-out, and a large WEBP
    cut-out is encoded plane by plane (48 MP: under 1 GiB for the whole process).
    """
    size = size or output_size(planes[0].size, options)  # given when the source was decoded smaller
    try:
        return _render_take(planes, size, options, icc_profile=icc_profile, progress=progress)
    finally:
        if size[0] * size[1] >= LARGE_IMAGE_PIXELS:
            # Rotation and the strip encoders leave freed pieces in the pool threads' malloc arenas
            # (under the 1 MiB mmap threshold), which glibc keeps: ~110 MB after a rotated 48 MP
            # cut-out, more with every thread that served one. A server then starts its next
            # request from there (bench/large.py --cases combos: 400 → 1000 MiB before a request).
            heap_trim()


def _render_take(planes: list[Image.Image], size: tuple[int, int], options: RemovalOptions, *,
                 icc_profile: bytes | None, progress: Progress) -> RenderResult:
    source, mask = planes
    planes.clear()
    if mask.size != size:
        mask = mask.resize(size, _LANCZOS)
    if source.mode == "P" and not _palette_renders(source, options, size):
        source = source.convert("RGB")
    if _planes_apply(source, options, size):
        planes += [source, mask]
        del source, mask
        return _render_planes(planes, size, options, icc_profile=icc_profile, progress=progress)
    out, fill = compose(source, mask, options, owned=True, size=size)
    del source, mask
    if out.width * out.height >= LARGE_IMAGE_PIXELS:
        heap_trim()  # the WEBP encoder's big buffers are mmap'ed and cannot reuse freed heap
    held = [out]
    del out
    return _finish_take(held, fill, options, icc_profile=icc_profile, progress=progress)
