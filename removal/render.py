"""Mask + image + options → output image bytes: compose, background, resize, rotate, encode.

SPEC order is segment → mask or cut-out → background colour → resize → rotate → encode. All of
those steps are per-pixel, so we resize the inputs first and do the rest at the output size:
the result is the same, and a 48 MP photo asked for at 800 px costs an 800 px render.
"""

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageChops

from removal.decode import MAX_SIDE, LoadedImage
from removal.encode import CONTENT_TYPES, FORMATS_WITH_ALPHA, image_encode
from removal.options import RGBA, RemovalOptions

Progress = Callable[[str], None] | None
_WHITE: RGBA = (255, 255, 255, 255)
_LANCZOS = Image.Resampling.LANCZOS
_REDUCING_GAP = 3.0


@dataclass(frozen=True)
class RenderResult:
    data: bytes
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


def compose(source: Image.Image, mask: Image.Image, options: RemovalOptions, *, owned: bool = False
            ) -> tuple[Image.Image, int | tuple]:
    """The output image before rotation, and the colour rotation should fill new corners with.

    Works at the output size: `source` and `mask` are resized first when they differ from it.
    With `owned=True` the caller gives up `source`, and a cut-out reuses its pixels in place
    (Pillow stores RGB in 4 bytes a pixel, so RGB → RGBA costs nothing): 192 MB less at 48 MP.
    """
    size = output_size(source.size, options)
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
        out = Image.new("RGB", size, color)
        out.paste(source.convert("RGB") if source.mode == "RGBA" else source, mask=alpha)
        return out, color
    if bg is not None:  # translucent background colour: the result keeps some alpha
        cut = source.convert("RGBA")
        cut.putalpha(alpha)
        return Image.alpha_composite(Image.new("RGBA", size, bg), cut), bg
    if options.format == "png":
        # Zero the colour under fully transparent pixels: PNG then compresses (and saves) ~2×
        # faster. WEBP does the same itself (exact=False).
        out = Image.new("RGBA", size, (0, 0, 0, 0))
        out.paste(source, mask=alpha.point(lambda v: 255 if v else 0))
    else:
        out = source if owned else source.copy()
    out.putalpha(alpha)
    return out, (0, 0, 0, 0)


def _rotate(image: Image.Image, angle: float, expand: bool, fill) -> Image.Image:
    turns = angle % 360
    if turns == 0:
        return image
    if turns == 180 or (turns in (90, 270) and (expand or image.width == image.height)):
        transpose = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
                     270: Image.Transpose.ROTATE_270}[int(turns)]
        return image.transpose(transpose)  # exact and fast; Pillow's ROTATE_90 is counter-clockwise
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=expand, fillcolor=fill)


def finish(out: Image.Image, fill, options: RemovalOptions, *, icc_profile: bytes | None = None,
           progress: Progress = None) -> RenderResult:
    """Rotate and encode a composed image."""
    out = _rotate(out, options.angle, options.expand, fill)
    if progress:
        progress("encoding")
    data = image_encode(out, options.format, icc_profile=None if options.mask else icc_profile)
    return RenderResult(
        data=data, content_type=CONTENT_TYPES[options.format], width=out.width, height=out.height,
        format=options.format,
    )


def render(image: LoadedImage, mask: Image.Image, options: RemovalOptions, *, progress: Progress = None
           ) -> RenderResult:
    """Compose the output for `options` from a decoded image and its mask, and encode it.

    `image` is left untouched, so a caller can render it again (the editor re-renders).
    """
    if progress:
        progress("compositing")
    out, fill = compose(image.image, mask, options)
    return finish(out, fill, options, icc_profile=image.icc_profile, progress=progress)
