"""The one function that turns image bytes plus options into output bytes, and its two halves.

    remove_background(data, filename, options) = render(image_load(...), mask_compute(...), ...)

Callers that need the halves (the editor stores the mask; the API decodes before charging)
call `image_load`, `mask_compute` and `render` themselves.
"""

import ctypes
from collections.abc import Callable

from PIL import Image

from removal.decode import LoadedImage, image_load
from removal.encode import CONTENT_TYPES, webp_encode_planes
from removal.errors import ProcessingFailed, RemovalError
from removal.options import RemovalOptions
from removal.render import Progress, RenderResult, compose, finish, output_size, render
from removal.segment import DEFAULT_MODEL, LARGE_IMAGE_PIXELS, mask_predict

__all__ = ["RenderResult", "image_load", "mask_compute", "remove_background", "render"]

_malloc_trim: Callable[[int], int] | None
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


def remove_background(data: bytes, filename: str, options: RemovalOptions, *, progress: Progress = None,
                      model: str = DEFAULT_MODEL) -> RenderResult:
    """Decode, segment, render and encode. Raises RemovalError subclasses only.

    Written as one frame on purpose: `del` then really frees the decoded image and the mask
    before the encoder allocates its own copies (peak RSS at 48 MP is the budget here).
    """
    if progress:
        progress("decoding")
    loaded = image_load(data, filename)
    source, icc_profile = loaded.image, loaded.icc_profile
    del loaded
    try:
        if progress:
            progress("segmenting")
        # The mask is produced straight at the output size: no full-size mask for a small result.
        size = output_size(source.size, options)
        mask = mask_predict(source, size, model=model)
        if progress:
            progress("compositing")
        if _planes_apply(source, size, options):
            planes = [source, mask]
            del source, mask
            return _render_planes(planes, size, icc_profile=icc_profile, progress=progress)
        out, fill = compose(source, mask, options, owned=True)
        del source, mask
        if out.width * out.height >= LARGE_IMAGE_PIXELS:
            heap_trim()  # the WEBP encoder's big buffers are mmap'ed and cannot reuse freed heap
        return finish(out, fill, options, icc_profile=icc_profile, progress=progress)
    except RemovalError:
        raise
    except Exception as exc:  # a bug or a resource failure inside processing: JSON 500, no charge
        raise ProcessingFailed(f"Image processing failed: {type(exc).__name__}") from exc
