"""The one path from image bytes plus options to output bytes, for every caller.

    image = await image_decode(data, filename)          # SPEC's checks; before any credit is taken
    cutout = await cutout_make(image, options, model=m)  # segment → render → encode

The API, the editor's first render (keep_mask: the full-size mask is stored) and its free
re-render (mask: the stored one, no inference) all call `cutout_make`; the CLI and the benchmarks
call `remove_background`, which is the same two steps without an event loop.
"""

import ctypes
from dataclasses import dataclass, replace

from PIL import Image

from removal.decode import LoadedImage, image_load
from removal.encode import CONTENT_TYPES, webp_encode_planes
from removal.errors import ProcessingFailed, RemovalError
from removal.options import RemovalOptions
from removal.pool import run_in_pool
from removal.render import Progress, RenderResult, compose, finish, output_size, render
from removal.segment import DEFAULT_MODEL, LARGE_IMAGE_PIXELS, mask_predict

__all__ = ["Cutout", "RenderResult", "cutout_make", "image_decode", "image_load", "remove_background",
           "render"]


@dataclass(frozen=True)
class Cutout:
    result: RenderResult  # the encoded output for the options asked
    mask: Image.Image | None = None  # the full-size mask ("L"), when keep_mask
    thumbnail: RenderResult | None = None  # a small WEBP of the same render, when thumbnail_side

try:
    _libc = ctypes.CDLL("libc.so.6")
    _malloc_trim = _libc.malloc_trim
except (OSError, AttributeError):  # not glibc: nothing to trim
    _malloc_trim = None


def heap_trim() -> None:
    """Give freed heap memory back to the OS (glibc keeps it otherwise; mmap'ed blocks can't use it)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def mask_compute(image: LoadedImage, *, progress: Progress = None, size: tuple[int, int] | None = None,
                 model: str = DEFAULT_MODEL) -> Image.Image:
    """Run the model: the foreground mask (mode "L"), at the image's size unless `size` is given."""
    if progress:
        progress("segmenting")
    return mask_predict(image.image, size or image.image.size, model=model)


def _planes_apply(source: Image.Image, size: tuple[int, int], options: RemovalOptions) -> bool:
    """A large, unrotated WEBP cut-out: encode colour and alpha separately to bound memory."""
    return (
        options.format == "webp" and not options.mask and options.bg_color is None
        and options.angle % 360 == 0 and source.mode == "RGB" and size[0] * size[1] >= LARGE_IMAGE_PIXELS
    )


def _render_planes(planes: list[Image.Image], size: tuple[int, int], *, icc_profile: bytes | None,
                   progress: Progress) -> RenderResult:
    """[rgb, mask] → WEBP cut-out, taking ownership so each plane is freed as soon as it is encoded."""
    source, mask = planes
    planes.clear()
    if source.size != size:
        source = source.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    # Hidden colour costs bytes and time; WEBP's own RGBA encoder blanks it the same way.
    source.paste((0, 0, 0), mask=mask.point(lambda v: 255 if v == 0 else 0))
    planes += [source, mask]
    del source, mask
    heap_trim()
    if progress:
        progress("encoding")
    data = webp_encode_planes(planes, icc_profile=icc_profile)
    return RenderResult(data=data, content_type=CONTENT_TYPES["webp"], width=size[0], height=size[1],
                        format="webp")


def _thumbnail(image: LoadedImage, mask: Image.Image, options: RemovalOptions, side: int) -> RenderResult:
    small = max(image.width, image.height) > side
    thumb = replace(options, width=side if small else None, height=side if small else None,
                    exact_resize=False, format="webp")
    return render(image, mask, thumb)


def _cutout(image: LoadedImage, options: RemovalOptions, *, model: str, progress: Progress = None,
            mask: Image.Image | None = None, keep_mask: bool = False,
            thumbnail_side: int | None = None) -> Cutout:
    """Segment (unless `mask` is given) → render → encode, in one frame: `image` is given up.

    Written as one frame on purpose: `del` then really frees the decoded image and the mask before
    the encoder allocates its own copies (peak RSS at 48 MP is the budget here).
    """
    try:
        source, icc_profile = image.image, image.icc_profile
        whole = keep_mask or thumbnail_side is not None or mask is not None
        size = output_size(source.size, options)
        if mask is None:
            if progress:
                progress("segmenting")
            # Without a stored or kept mask, it is produced straight at the output size.
            mask = mask_predict(source, source.size if whole else size, model=model)
        kept = mask if keep_mask else None
        thumbnail = _thumbnail(image, mask, options, thumbnail_side) if thumbnail_side else None
        del image
        if progress:
            progress("compositing")
        if not whole and _planes_apply(source, size, options):
            planes = [source, mask]
            del source, mask
            result = _render_planes(planes, size, icc_profile=icc_profile, progress=progress)
            return Cutout(result=result, mask=kept, thumbnail=thumbnail)
        out, fill = compose(source, mask, options, owned=not whole)
        del source, mask
        if out.width * out.height >= LARGE_IMAGE_PIXELS:
            heap_trim()  # the WEBP encoder's big buffers are mmap'ed and cannot reuse freed heap
        result = finish(out, fill, options, icc_profile=icc_profile, progress=progress)
        return Cutout(result=result, mask=kept, thumbnail=thumbnail)
    except RemovalError:
        raise
    except Exception as exc:  # a bug or a resource failure inside processing: JSON 500, no charge
        raise ProcessingFailed(f"Image processing failed: {type(exc).__name__}") from exc


async def image_decode(data: bytes, filename: str) -> LoadedImage:
    """Validate and decode an upload (SPEC's checks) on the pipeline pool."""
    return await run_in_pool(image_load, data, filename)


async def cutout_make(image: LoadedImage, options: RemovalOptions, *, model: str, progress: Progress = None,
                      mask: Image.Image | None = None, keep_mask: bool = False,
                      thumbnail_side: int | None = None) -> Cutout:
    """THE path from a decoded image to output bytes, on the pipeline pool. Takes ownership of `image`.

    `mask`: a stored mask (the editor's free re-render: no inference); `keep_mask`: also return the
    full-size mask; `thumbnail_side`: also return a small WEBP of the same render.
    """
    return await run_in_pool(_cutout, image, options, model=model, progress=progress, mask=mask,
                             keep_mask=keep_mask, thumbnail_side=thumbnail_side)


def remove_background(data: bytes, filename: str, options: RemovalOptions, *, progress: Progress = None,
                      model: str = DEFAULT_MODEL) -> RenderResult:
    """Decode, segment, render and encode without an event loop (the CLI, the benchmarks)."""
    if progress:
        progress("decoding")
    return _cutout(image_load(data, filename), options, model=model, progress=progress).result
