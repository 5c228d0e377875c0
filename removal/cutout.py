"""The SPEC §7 steps between segment and compose: refine the mask, then crop to the subject.

    decode → segment → refine → mask or cut-out → crop → background colour → resize → rotate → encode

`subject_prepare` works on the full-size image and mask and hands `render` a (possibly refined,
possibly cropped) pair, so compose, resize, rotate and encode stay exactly as they are
(`removal.pipeline.cutout_render` strings the steps together). With the defaults (refine=none,
crop=false) the pair passes through untouched: a rembg.com call gets the same bytes as before.
"""

import dataclasses
from dataclasses import dataclass

from PIL import Image, ImageChops

from removal.crop import Box, crop_box, foreground_box
from removal.decode import LoadedImage
from removal.errors import NoForeground
from removal.options import RemovalOptions
from removal.refine import alpha_refine
from removal.render import RenderResult
from removal.segment import DEFAULT_MODEL


@dataclass(frozen=True)
class Subject:
    image: LoadedImage
    mask: Image.Image
    refine: str | None  # None when not asked; else "matting" | "reduced" | "skipped"
    foreground: Box | None  # in input pixels (after EXIF orientation); None when there is none


@dataclass(frozen=True)
class Cutout(RenderResult):
    """A rendered result plus what the response headers report about the subject."""

    refine: str | None = None
    foreground: Box | None = None


def subject_steps_needed(options: RemovalOptions) -> bool:
    """Whether a request asks for anything SPEC §7 added on the mask (else the classic path)."""
    return options.refine != "none" or options.crop or options.model != DEFAULT_MODEL


def _refine(image: LoadedImage, mask: Image.Image) -> tuple[str, LoadedImage, Image.Image]:
    refined = alpha_refine(image=image.image, mask=mask)
    if refined.foreground is None:
        return refined.mode, image, mask
    colours = refined.foreground
    if image.image.mode == "RGBA":  # the upload's own transparency is kept as it was
        colours = colours.convert("RGBA")
        colours.putalpha(image.image.getchannel("A"))
    return refined.mode, dataclasses.replace(image, image=colours), refined.alpha


def _visible(image: LoadedImage, mask: Image.Image) -> Image.Image:
    """The alpha the output will have (compose multiplies an upload's own alpha in)."""
    if image.image.mode == "RGBA":
        return ImageChops.multiply(mask, image.image.getchannel("A"))
    return mask


def _crop(image: LoadedImage, mask: Image.Image, box: Box) -> tuple[LoadedImage, Image.Image]:
    left, top, width, height = box
    area = (left, top, left + width, top + height)
    return dataclasses.replace(image, image=image.image.crop(area)), mask.crop(area)


def subject_prepare(*, image: LoadedImage, mask: Image.Image, options: RemovalOptions) -> Subject:
    """Refine and crop per `options`. Raises NoForeground for crop=true on an empty mask."""
    mode = None
    if options.refine == "matting":
        mode, image, mask = _refine(image, mask)
    box = foreground_box(_visible(image, mask))
    if options.crop:
        if box is None:
            raise NoForeground()
        area = crop_box(box=box, margin=options.crop_margin, percent=options.crop_margin_percent,
                        size=image.image.size)
        image, mask = _crop(image, mask, area)
    return Subject(image=image, mask=mask, refine=mode, foreground=box)


def cutout_result(result: RenderResult, subject: Subject) -> Cutout:
    """The rendered result with what the subject step found, for the response headers."""
    fields = {field.name: getattr(result, field.name) for field in dataclasses.fields(RenderResult)}
    return Cutout(**fields, refine=subject.refine, foreground=subject.foreground)
