"""Rotation by an arbitrary angle, tile by tile through OpenCV's affine warp.

Pillow's Image.rotate is the contract (SPEC: counter-clockwise about the centre, `expand` grows
the canvas to hold it all, the corners take the fill): `rotation` computes Pillow's size and
output → input matrix, and a pixel is the fill exactly where Pillow's is (its centre maps outside
the input); inside, the 4×4 neighbourhood is interpolated with the edge rows and columns repeated,
as Pillow's filter clips them. The interpolation itself is OpenCV's (SIMD, fixed point): on a 48
MP photo rotated 30° with expand, band by band on one thread, 2.3× faster than Pillow's per-pixel
filter on the colour and 2.9× on a mask (`bench/pipeline.py --part rotate`), which was half the CPU
of such a cut-out. Its bicubic uses a = −0.75 where Pillow's uses −1 and rounds where Pillow
truncates: 52–53 dB PSNR against Pillow's, a picture a level or so apart, not a
different one (tests/removal/test_rotate.py bounds it).

Output rows are made in tiles whose source window is cropped on its own, so a band of a 48 MP
rotation never holds more than a tile's neighbourhood of the input beside the input itself.
ROTATE_RESAMPLE=bilinear (opt-in) interpolates the 2×2 neighbourhood instead.
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from removal.config import env_read

cv2.setNumThreads(1)  # the strip encoders make bands on removal.pool's two helpers: no third pool

# Output tiles: their source windows stay in cache (bench: 256 px a side 2.8×, 1024 2.0× faster than
# Pillow). 128 rows: the strip encoders' bands (removal.png 128, removal.webp 256) are whole tiles.
_TILE_ROWS, _TILE_COLUMNS = 128, 256
_WHOLE_BAND_ROWS = 2 * _TILE_ROWS  # rotate()'s bands into the whole output
_MARGIN = 3  # source pixels around a tile's window: the 4×4 neighbourhood and OpenCV's 1/32 px rounding
_EXACT_TURNS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
                270: Image.Transpose.ROTATE_270}

Fill = int | tuple[int, ...]


@dataclass(frozen=True)
class Rotation:
    size: tuple[int, int]  # the output's
    matrix: tuple[float, ...]  # (a, b, c, d, e, f): output pixel centre (x, y) → input (ax+by+c, dx+ey+f)


def exact_turn(turns: float, expand: bool, size: tuple[int, int]) -> bool:
    """A rotation `rotate` does by transposing: exact, and no interpolation at all."""
    return turns == 180 or (turns in (90, 270) and (expand or size[0] == size[1]))


def rotation(size: tuple[int, int], angle: float, expand: bool) -> Rotation:
    """The output size and the affine matrix of Pillow's Image.rotate about the centre, computed as
    it computes them."""
    w, h = size
    radians = -math.radians(angle)
    matrix = [round(math.cos(radians), 15), round(math.sin(radians), 15), 0.0,
              round(-math.sin(radians), 15), round(math.cos(radians), 15), 0.0]

    def transform(x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = matrix
        return a * x + b * y + c, d * x + e * y + f

    matrix[2], matrix[5] = transform(-w / 2, -h / 2)
    matrix[2] += w / 2
    matrix[5] += h / 2
    if expand:
        corners = [transform(x, y) for x, y in ((0, 0), (w, 0), (w, h), (0, h))]
        nw = math.ceil(max(x for x, _ in corners)) - math.floor(min(x for x, _ in corners))
        nh = math.ceil(max(y for _, y in corners)) - math.floor(min(y for _, y in corners))
        matrix[2], matrix[5] = transform(-(nw - w) / 2.0, -(nh - h) / 2.0)
        w, h = nw, nh
    return Rotation((w, h), tuple(matrix))


def rotate(image: Image.Image, angle: float, expand: bool, fill: Fill) -> Image.Image:
    """Image.rotate(angle, expand=expand, fillcolor=fill) of an "L", "RGB" or "RGBA" image (RGBA
    interpolated premultiplied, as Pillow does)."""
    turns = angle % 360
    if turns == 0:
        return image
    if exact_turn(turns, expand, image.size):
        return image.transpose(_EXACT_TURNS[int(turns)])  # Pillow's ROTATE_90 is counter-clockwise too
    turn = rotation(image.size, angle, expand)
    source = image.convert("RGBa") if image.mode == "RGBA" else image
    # Band by band into the output: never a second full-size copy of it (48 MP at 30° with expand
    # is 364 MB as an image, 273 MB more as one array).
    out = Image.new(image.mode, turn.size)
    for top in range(0, turn.size[1], _WHOLE_BAND_ROWS):
        rows = _rows(source, top, min(top + _WHOLE_BAND_ROWS, turn.size[1]), turn, fill, None)
        if image.mode == "RGBA":  # interpolated premultiplied, as Pillow does
            band = Image.frombuffer("RGBa", (rows.shape[1], rows.shape[0]), rows, "raw", "RGBa", 0, 1)
            out.paste(band.convert("RGBA"), (0, top))
        else:
            out.paste(Image.fromarray(rows), (0, top))
    return out


def rotated_array(image: Image.Image, turn: Rotation, fill: Fill) -> np.ndarray:
    """rotate()'s pixels of an "L" or "RGB" image as one array, made band by band: 3 bytes a pixel
    where Pillow's RGB image takes 4 (48 MP at 30° with expand: 274 MB instead of 365), for an
    encoder that reads arrays (removal.encode.jpeg_encode_array)."""
    width, height = turn.size
    out = np.empty((height, width, *_CHANNELS[image.mode]), dtype=np.uint8)
    for top in range(0, height, _WHOLE_BAND_ROWS):
        bottom = min(top + _WHOLE_BAND_ROWS, height)
        _rows(image, top, bottom, turn, fill, None, out=out[top:bottom])
    return out


def rows_rotated(image: Image.Image, top: int, bottom: int, turn: Rotation, fill: Fill,
                 columns: tuple[int, int] | None = None) -> Image.Image:
    """Rows top..bottom of the rotated "L" or "RGB" `image`. `columns`: interpolate only output
    columns x0..x1 (the rest is `fill`)."""
    return Image.fromarray(_rows(image, top, bottom, turn, fill, columns))


_CHANNELS = {"L": (), "RGB": (3,), "RGBa": (4,)}  # an array's shape after rows × columns


def _rows(image: Image.Image, top: int, bottom: int, turn: Rotation, fill: Fill,
          columns: tuple[int, int] | None, out: np.ndarray | None = None) -> np.ndarray:
    """The output's rows top..bottom (into `out` when given), interpolated tile by tile on one fixed
    grid of the output: a pixel's tile, and so its value, does not depend on which rows or columns
    were asked for."""
    width, height = turn.size
    channels = _CHANNELS[image.mode]
    if out is None:
        out = np.empty((bottom - top, width, *channels), dtype=np.uint8)
    # The fill as a tile: numpy broadcasts a colour into each pixel 70× slower than it copies a tile.
    blank = np.empty((_TILE_ROWS, _TILE_COLUMNS, *channels), dtype=np.uint8)
    blank[:] = fill
    left, right = columns or (0, width)
    flags = (cv2.INTER_LINEAR if env_read("ROTATE_RESAMPLE", "bicubic") == "bilinear" else cv2.INTER_CUBIC) \
        | cv2.WARP_INVERSE_MAP
    for x0, x1 in ((0, left), (max(left, right), width)):
        for y0 in range(0, bottom - top, _TILE_ROWS):
            for x in range(x0, x1, _TILE_COLUMNS):
                part = out[y0:y0 + _TILE_ROWS, x:min(x + _TILE_COLUMNS, x1)]
                part[:] = blank[:part.shape[0], :part.shape[1]]
    for y0 in range(top - top % _TILE_ROWS, bottom, _TILE_ROWS):
        y1 = min(y0 + _TILE_ROWS, height)
        for x0 in range(left - left % _TILE_COLUMNS, right, _TILE_COLUMNS):
            x1 = min(x0 + _TILE_COLUMNS, width)
            oy0, oy1, ox0, ox1 = max(y0, top), min(y1, bottom), max(x0, left), min(x1, right)
            if (oy0, oy1, ox0, ox1) == (y0, y1, x0, x1):
                _tile(image, turn, (x0, y0, x1, y1), blank, out[y0 - top:y1 - top, x0:x1], flags)
            else:  # a tile the rows or columns cut: made whole, the part asked for kept
                tile = np.empty((y1 - y0, x1 - x0, *channels), dtype=np.uint8)
                _tile(image, turn, (x0, y0, x1, y1), blank, tile, flags)
                out[oy0 - top:oy1 - top, ox0:ox1] = tile[oy0 - y0:oy1 - y0, ox0 - x0:ox1 - x0]
    return out


def _tile(image: Image.Image, turn: Rotation, box: tuple[int, int, int, int], blank: np.ndarray,
          out: np.ndarray, flags: int) -> None:
    """Output pixels `box` (x0, y0, x1, y1) into `out`, from the tile's own window of the input;
    `blank`: a tile of the fill; `flags`: OpenCV's interpolation."""
    x0, y0, x1, y1 = box
    blank = blank[:y1 - y0, :x1 - x0]
    a, b, c, d, e, f = turn.matrix
    source_width, source_height = image.size
    # The tile's corner pixels' centres in the input: the tile is convex, so they bound it.
    xs = [a * (x + 0.5) + b * (y + 0.5) + c for x in (x0, x1 - 1) for y in (y0, y1 - 1)]
    ys = [d * (x + 0.5) + e * (y + 0.5) + f for x in (x0, x1 - 1) for y in (y0, y1 - 1)]
    if max(xs) < 0 or min(xs) >= source_width or max(ys) < 0 or min(ys) >= source_height:
        out[:] = blank
        return
    sx0, sy0 = max(0, math.floor(min(xs)) - _MARGIN), max(0, math.floor(min(ys)) - _MARGIN)
    sx1 = min(source_width, math.ceil(max(xs)) + _MARGIN)
    sy1 = min(source_height, math.ceil(max(ys)) + _MARGIN)
    window = np.asarray(image.crop((sx0, sy0, sx1, sy1)))
    # Tile pixel (i, j) → window index: its centre mapped, less half a pixel, less the window's origin.
    matrix = np.array([[a, b, a * (x0 + 0.5) + b * (y0 + 0.5) + c - 0.5 - sx0],
                       [d, e, d * (x0 + 0.5) + e * (y0 + 0.5) + f - 0.5 - sy0]])
    cv2.warpAffine(window, matrix, (x1 - x0, y1 - y0), dst=out, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    if min(xs) < 0 or max(xs) >= source_width or min(ys) < 0 or max(ys) >= source_height:
        outside = ~_inside(turn.matrix, box, source_width, source_height)
        np.copyto(out, blank, where=outside[..., None] if out.ndim == 3 else outside)


def _inside(matrix: tuple[float, ...], box: tuple[int, int, int, int], width: int, height: int) -> np.ndarray:
    """Which pixels of the output tile `box` Pillow interpolates: those whose centre maps into the input."""
    a, b, c, d, e, f = matrix
    x0, y0, x1, y1 = box
    x = np.arange(x0, x1) + 0.5
    y = (np.arange(y0, y1) + 0.5)[:, None]
    sx = a * x + (b * y + c)
    sy = d * x + (e * y + f)
    return (sx >= 0) & (sx < width) & (sy >= 0) & (sy < height)
