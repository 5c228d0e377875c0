"""Touch-up strokes: erase or restore parts of a full-resolution mask by hand.

A stroke is a polyline in image pixels (after EXIF orientation: the mask's own coordinates), a
radius and a hardness. Its coverage at a pixel falls from 1 inside `hardness × radius` of the
line to 0 at `radius` (a soft edge), and is the maximum over its segments, so a slow stroke is no
darker than a fast one. Erase multiplies the mask by (1 − coverage); restore raises it toward 255
by the same amount. Strokes apply in order. The browser previews the same arithmetic.

The work is bounded at the edge (`strokes_check`, against the image's size): points are clamped to
the image (a point far outside costs nothing), a brush is at most the image's diagonal, and the
painted area (length × brush width) at most PAINT_MAX images. Rasterising costs the pixels a
stroke touches, not the span of its coordinates: a long segment is drawn in short pieces.
"""

import json
import math
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from removal.errors import ValidationFailed

MODES = ("erase", "restore")
MAX_STROKES = 500
MAX_POINTS = 50_000  # over all strokes: a long session of touch-ups, not a denial of service
MAX_RADIUS = 2000
MAX_STROKE_POINTS = 5_000  # one stroke: minutes of slow dragging at the browser's spacing
# Painted area over the image's area: length × brush width (a width under PIECE counts as PIECE,
# what a piece costs to draw). A real touch-up paints the image over once or twice.
PAINT_MAX = 8
PIECE = 64  # longest piece of a segment drawn at once (or the brush's width, when wider)
INVALID_STROKES = "'strokes' must be a JSON list of {mode, radius, hardness, points} objects"


@dataclass(frozen=True)
class Stroke:
    mode: str  # "erase" | "restore"
    radius: float
    hardness: float  # 0 (soft) … 1 (hard edge)
    points: tuple[tuple[float, float], ...]


def _number(value, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(value)
    return float(value)


def _stroke_parse(raw) -> Stroke:
    if not isinstance(raw, dict) or raw.get("mode") not in MODES or not isinstance(raw.get("points"), list):
        raise ValueError(raw)
    points = tuple((_number(p[0], -1e6, 1e6), _number(p[1], -1e6, 1e6)) for p in raw["points"]
                   if isinstance(p, list | tuple) and len(p) == 2)
    if not points or len(points) != len(raw["points"]):
        raise ValueError(raw)
    return Stroke(mode=raw["mode"], radius=_number(raw.get("radius"), 0.5, MAX_RADIUS),
                  hardness=_number(raw.get("hardness", 1), 0, 1), points=points)


def strokes_parse(raw: str | list) -> list[Stroke]:
    """JSON text (or an already decoded list) → strokes. ValidationFailed on field `strokes`."""
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(items, list) or len(items) > MAX_STROKES:
            raise ValueError(items)
        strokes = [_stroke_parse(item) for item in items]
    except (ValueError, TypeError, IndexError, RecursionError):
        raise ValidationFailed([("strokes", INVALID_STROKES)]) from None
    if sum(len(s.points) for s in strokes) > MAX_POINTS:
        raise ValidationFailed([("strokes", f"Too many touch-up points (at most {MAX_POINTS})")])
    return strokes


def _painted(stroke: Stroke) -> float:
    width = max(2 * stroke.radius, PIECE)
    points = stroke.points
    length = sum(math.dist(a, b) for a, b in zip(points, points[1:], strict=False))
    return (length + width) * width  # a dab where it starts: even one point paints a square


def strokes_check(strokes: list[Stroke], *, size: tuple[int, int]) -> list[Stroke]:
    """`strokes` clamped to an image of `size`, or ValidationFailed (field `strokes`) when they exceed
    the work a real brush ever asks for (see the module docstring)."""
    width, height = size
    diagonal = math.hypot(width, height)
    clamped = [replace(s, points=tuple((min(max(x, 0.0), width), min(max(y, 0.0), height))
                                       for x, y in s.points)) for s in strokes]
    errors = []
    longest = max((len(s.points) for s in clamped), default=0)
    if longest > MAX_STROKE_POINTS:
        errors.append(f"A touch-up stroke may have at most {MAX_STROKE_POINTS} points, got {longest}")
    widest = max((s.radius for s in clamped), default=0)
    if widest > diagonal:
        errors.append(f"A touch-up brush radius may be at most the image's diagonal ({diagonal:.0f} px), "
                      f"got {widest:g}")
    if not errors and sum(_painted(s) for s in clamped) > PAINT_MAX * width * height:
        errors.append(f"The touch-ups paint too much: at most {PAINT_MAX} times the image's area")
    if errors:
        raise ValidationFailed([("strokes", message) for message in errors])
    return clamped


def strokes_dump(strokes: list[Stroke]) -> list[dict]:
    """The JSON we store with a job (and give back to the page)."""
    return [{"mode": s.mode, "radius": s.radius, "hardness": s.hardness,
             "points": [list(p) for p in s.points]} for s in strokes]


def _bounds(stroke: Stroke, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    xs = [p[0] for p in stroke.points]
    ys = [p[1] for p in stroke.points]
    r = stroke.radius
    left, top = max(0, int(np.floor(min(xs) - r))), max(0, int(np.floor(min(ys) - r)))
    right, bottom = min(size[0], int(np.ceil(max(xs) + r)) + 1), min(size[1], int(np.ceil(max(ys) + r)) + 1)
    return (left, top, right, bottom) if left < right and top < bottom else None


def _segment_coverage(stroke: Stroke, a, b, box: tuple[int, int, int, int]) -> tuple[np.ndarray, tuple]:
    """Coverage of one segment a–b over its own box (clipped to `box`), and that box."""
    r = stroke.radius
    left = max(box[0], int(np.floor(min(a[0], b[0]) - r)))
    top = max(box[1], int(np.floor(min(a[1], b[1]) - r)))
    right = min(box[2], int(np.ceil(max(a[0], b[0]) + r)) + 1)
    bottom = min(box[3], int(np.ceil(max(a[1], b[1]) + r)) + 1)
    if left >= right or top >= bottom:
        return np.zeros((0, 0), np.float32), (left, top, left, top)
    # Pixel centres, as a column and a row: numpy broadcasts them to the box.
    ys = np.arange(top, bottom, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(left, right, dtype=np.float32)[None, :] + 0.5
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else np.clip(((xs - a[0]) * dx + (ys - a[1]) * dy) / length2, 0, 1)
    distance = np.hypot(xs - (a[0] + t * dx), ys - (a[1] + t * dy))
    inner = r * stroke.hardness
    if r - inner < 0.5:  # a hard brush still gets a half-pixel of anti-aliasing
        inner = r - 0.5
    return np.clip((r - distance) / (r - inner), 0, 1).astype(np.float32), (left, top, right, bottom)


def stroke_coverage(stroke: Stroke, box: tuple[int, int, int, int]) -> np.ndarray:
    """Coverage 0…1 (float32) of one stroke over `box` (left, top, right, bottom): the maximum of
    its segments' coverage, each computed over its own small box only."""
    coverage = np.zeros((box[3] - box[1], box[2] - box[0]), dtype=np.float32)
    points = stroke.points if len(stroke.points) > 1 else stroke.points * 2
    for a, b in zip(points, points[1:], strict=False):
        for start, end in _pieces(a, b, max(2 * stroke.radius, PIECE)):
            segment, (left, top, right, bottom) = _segment_coverage(stroke, start, end, box)
            region = coverage[top - box[1]:bottom - box[1], left - box[0]:right - box[0]]
            np.maximum(region, segment, out=region)
    return coverage


def _pieces(a, b, longest: float):
    """a–b as consecutive pieces no longer than `longest`: a diagonal across the image is drawn
    over boxes along it (its painted area), not over the whole image's box. Same coverage: the
    distance to a segment is the least distance to its pieces."""
    count = max(1, math.ceil(math.dist(a, b) / longest))
    xs = np.linspace(a[0], b[0], count + 1)
    ys = np.linspace(a[1], b[1], count + 1)
    return [((xs[i], ys[i]), (xs[i + 1], ys[i + 1])) for i in range(count)]


def _spaced(stroke: Stroke) -> Stroke:
    """Points closer than radius/8 to the last kept one add nothing visible: drop them (the
    browser sends them spaced so already; this bounds the work for any other client)."""
    step = max(0.5, stroke.radius / 8)
    kept = [stroke.points[0]]
    for point in stroke.points[1:]:
        if np.hypot(point[0] - kept[-1][0], point[1] - kept[-1][1]) >= step:
            kept.append(point)
    return replace(stroke, points=tuple(kept))


def strokes_apply(mask: Image.Image, strokes: list[Stroke]) -> Image.Image:
    """A new "L" mask with the strokes applied in order (the input is not changed). Only each
    stroke's box is converted to floats: a 24 MP mask is not copied to float32 as a whole."""
    if not strokes:
        return mask
    pixels = np.array(mask.convert("L"), dtype=np.uint8)
    for stroke in strokes:
        box = _bounds(stroke, mask.size)
        if box is None:
            continue
        left, top, right, bottom = box
        coverage = stroke_coverage(_spaced(stroke), box)
        region = pixels[top:bottom, left:right].astype(np.float32)
        if stroke.mode == "erase":
            region *= 1 - coverage
        else:
            region += (255 - region) * coverage
        pixels[top:bottom, left:right] = np.clip(np.rint(region), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, mode="L")
