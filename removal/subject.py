"""The SPEC §7 steps between segment and compose: refine the mask, then crop to the subject.

    decode → segment → refine → mask or cut-out → crop → background colour → resize → rotate → encode

`subject_prepare` works on the full-size image and mask and hands the render a (possibly refined,
possibly cropped) pair, so compose, resize, rotate and encode stay exactly as they are. With the
defaults (refine=none, crop=false) nothing here runs but `subject_box`: a rembg.com call gets the
same bytes as before, plus the subject's box in headers.
"""

import math
from dataclasses import dataclass

from PIL import Image, ImageChops

from removal.crop import Box, crop_box, foreground_box
from removal.errors import NoForeground
from removal.options import RemovalOptions
from removal.refine import Refined, alpha_refine


@dataclass(frozen=True)
class Subject:
    source: Image.Image
    mask: Image.Image
    refine: str | None  # None when not asked; else "matting" | "reduced" | "skipped"
    refine_reason: str | None  # why skipped (X-Refine-Reason, removal.refine.SKIP_REASONS)
    foreground: Box | None  # in input pixels (after EXIF orientation); None when there is none


def subject_steps_needed(options: RemovalOptions) -> bool:
    """Whether a request asks for a step that needs the full-size mask (refine, crop, quality=high)."""
    return options.refine != "none" or options.crop or options.quality == "high"


def _refine(source: Image.Image, mask: Image.Image) -> tuple[Refined, Image.Image, Image.Image]:
    refined = alpha_refine(image=source, mask=mask)
    if refined.foreground is None:
        return refined, source, mask
    colours = refined.foreground
    if source.mode == "RGBA":  # the upload's own transparency is kept as it was
        colours = colours.convert("RGBA")
        colours.putalpha(source.getchannel("A"))
    return refined, colours, refined.alpha


def _visible(source: Image.Image, mask: Image.Image) -> Image.Image:
    """The alpha the output will have (compose multiplies an upload's own alpha in)."""
    if source.mode != "RGBA":
        return mask
    alpha = source.getchannel("A")
    if alpha.size != mask.size:
        alpha = alpha.resize(mask.size, Image.Resampling.NEAREST)
    return ImageChops.multiply(mask, alpha)


def subject_box(source: Image.Image, mask: Image.Image, *, size: tuple[int, int] | None = None) -> Box | None:
    """The subject's box in the upload's pixels (`size`, default `source`'s own); a mask made at a
    smaller output size gives the box of its grid scaled back (exact when the output is the input's
    size)."""
    width, height = size or source.size
    box = foreground_box(_visible(source, mask))
    if box is None or mask.size == (width, height):
        return box
    sx, sy = width / mask.width, height / mask.height
    left, top = math.floor(box[0] * sx), math.floor(box[1] * sy)
    right = min(width, math.ceil((box[0] + box[2]) * sx))
    bottom = min(height, math.ceil((box[1] + box[3]) * sy))
    return left, top, right - left, bottom - top


def subject_prepare(*, source: Image.Image, mask: Image.Image, options: RemovalOptions) -> Subject:
    """Refine and crop per `options` (full-size `source` and `mask`). NoForeground for crop=true on
    an empty mask."""
    refined = None
    if options.refine == "matting":
        refined, source, mask = _refine(source, mask)
    box = subject_box(source, mask)
    if options.crop:
        if box is None:
            raise NoForeground()
        left, top, width, height = crop_box(box=box, margin=options.crop_margin,
                                            percent=options.crop_margin_percent, size=source.size)
        area = (left, top, left + width, top + height)
        source, mask = source.crop(area), mask.crop(area)
    return Subject(source=source, mask=mask, refine=refined.mode if refined else None,
                   refine_reason=refined.reason if refined else None, foreground=box)
