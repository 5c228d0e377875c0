"""An uploaded background image behind a cut-out: scaled to fill (cover, centred crop) or fit
(contain, centred; what it does not cover stays transparent, so `bg_color` then shows there).

Done at the source's size, before the pipeline's own resize and rotation: the composite is an
RGBA source whose alpha is the new mask, and the render that follows is the usual one.
"""

from PIL import Image, ImageChops, ImageOps

FITS = ("fill", "fit")
INVALID_FIT = "'background_fit' must be one of: fill, fit"


def background_scaled(background: Image.Image, size: tuple[int, int], fit: str) -> Image.Image:
    """The background as RGBA at exactly `size`."""
    background = background.convert("RGBA")
    if fit == "fill":
        return ImageOps.fit(background, size, Image.Resampling.LANCZOS)
    contained = ImageOps.contain(background, size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    canvas.paste(contained, ((size[0] - contained.width) // 2, (size[1] - contained.height) // 2))
    return canvas


def background_composite(source: Image.Image, mask: Image.Image, background: Image.Image,
                         fit: str = "fill") -> tuple[Image.Image, Image.Image]:
    """(RGB or RGBA source, "L" mask) → (RGB composite, its "L" alpha): the subject over the
    background. The alpha is 255 wherever the background or the subject is."""
    alpha = mask if source.mode != "RGBA" else ImageChops.multiply(mask, source.getchannel("A"))
    cut = source.convert("RGBA")
    cut.putalpha(alpha)
    out = Image.alpha_composite(background_scaled(background, source.size, fit), cut)
    return out.convert("RGB"), out.getchannel("A")
