"""Pillow's LANCZOS resize, split into a top and a bottom half computed at once (removal.pool.both).

Pillow resizes on one core. Its resampling centres output row i on source row box_top + (i + 0.5)
× scale, with the filter's support clipped to the whole image, not to the box asked for; so the two
halves, each asked for with `box`, are the rows of the whole resize: the same pixels wherever it
was checked (tests/removal/test_resize.py: real photos, masks up to 4000×3000). It splits only
where that holds: an even output height (the split is then the source's exact middle, with the
same scale) and no integer pre-reduction (reducing_gap), whose blocks would move. Otherwise it
resizes in one piece.
Measured on people.jpg (1122×1402), alone on 2 cores: the model's 320×320 input 15.5 → 7.8 ms,
the 320×320 prediction up to the photo's size ~8 → ~4 ms.
"""

from functools import partial

from PIL import Image

from removal.pool import both

_LANCZOS = Image.Resampling.LANCZOS
_MIN_PIXELS = 250_000  # below this, a helper thread costs more than half the work


def _reduces(source: tuple[int, int], size: tuple[int, int], reducing_gap: float | None) -> bool:
    """Whether Pillow would reduce by an integer factor first (its condition in Image.resize)."""
    if reducing_gap is None:
        return False
    return any(int(have / want / reducing_gap) > 1 for have, want in zip(source, size, strict=True))


def resize_split(image: Image.Image, size: tuple[int, int], *, reducing_gap: float | None = None
                 ) -> Image.Image:
    """image.resize(size, LANCZOS, reducing_gap=…), the same pixels, on two cores when it may."""
    width, height = image.size
    whole = partial(image.resize, size, _LANCZOS, reducing_gap=reducing_gap)
    work = max(width * height, size[0] * size[1])
    if size[1] % 2 or work < _MIN_PIXELS or _reduces(image.size, size, reducing_gap):
        return whole()
    top = size[1] // 2
    middle = height / 2  # exact: the source row where output row `top` starts
    upper, lower = both(
        partial(image.resize, (size[0], top), _LANCZOS, box=(0, 0, width, middle)),
        partial(image.resize, (size[0], top), _LANCZOS, box=(0, middle, width, height)),
    )
    out = Image.new(upper.mode, size)
    out.paste(upper, (0, 0))
    out.paste(lower, (0, top))
    return out
