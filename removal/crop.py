"""The subject's box from its alpha, and the crop box around it (remove.bg's `crop`/`crop_margin`).

Boxes are (left, top, width, height) in the pixels of the image the alpha belongs to: the
decoded input after EXIF orientation, before any resize.
"""

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]
# Pixels at least this opaque count as subject. A u2netp mask scaled up leaves faint haze
# (alpha 1-7) over half the image; from 8/255 on, the box matched the true matte's within a few
# pixels on every well-segmented photo of ../shared/quality.
FOREGROUND_MIN_ALPHA = 8
_BAND_ROWS = 256  # rows looked at a time: a 100 MP alpha's copy and threshold were +200 MB at once


def foreground_box(alpha: Image.Image) -> Box | None:
    """The bounding box of the visible subject in an "L" alpha, or None when there is none. Band by
    band of rows: the copy and the comparison never hold more than a band."""
    width, height = alpha.size
    top = bottom = None
    left, right = width, -1
    for y in range(0, height, _BAND_ROWS):
        visible = np.asarray(alpha.crop((0, y, width, min(height, y + _BAND_ROWS)))) >= FOREGROUND_MIN_ALPHA
        rows = np.flatnonzero(visible.any(axis=1))
        if rows.size == 0:
            continue
        top = y + int(rows[0]) if top is None else top
        bottom = y + int(rows[-1])
        cols = np.flatnonzero(visible.any(axis=0))
        left, right = min(left, int(cols[0])), max(right, int(cols[-1]))
    if top is None or bottom is None:
        return None
    return left, top, right - left + 1, bottom - top + 1


def crop_box(*, box: Box, margin: float, percent: bool, size: tuple[int, int]) -> Box:
    """`box` grown by `margin` on every side (pixels, or % of the box's own width and height,
    as remove.bg does), clamped to the image of `size`."""
    left, top, width, height = box
    dx = round(width * margin / 100) if percent else round(margin)
    dy = round(height * margin / 100) if percent else round(margin)
    x0, y0 = max(0, left - dx), max(0, top - dy)
    x1, y1 = min(size[0], left + width + dx), min(size[1], top + height + dy)
    return x0, y0, x1 - x0, y1 - y0
