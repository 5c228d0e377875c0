"""Small generated test images."""

import io

from PIL import Image, ImageDraw


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def figure(size: tuple[int, int] = (96, 64), colour: str = "crimson") -> Image.Image:
    """A small picture with an obvious subject: a filled ellipse on a pale background."""
    image = Image.new("RGB", size, "lightyellow")
    width, height = size
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=colour)
    return image


def astronaut() -> Image.Image:
    """A real photograph: scikit-image's astronaut, 512×512."""
    from skimage import data as skdata

    return Image.fromarray(skdata.astronaut())
