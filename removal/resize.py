"""Pillow's LANCZOS resize, split into a top and a bottom half computed at once (removal.pool.both).

Pillow resizes on one core. Its resampling centres output row i on source row box_top + (i + 0.5)
× scale, with the filter's support clipped to the whole image, not to the box asked for; so the two
halves, each asked for with `box`, are the rows of the whole resize: the same pixels wherever it
was checked (tests/removal/test_resize.py: real photos, masks up to 4000×3000). It splits only
where that holds: an even output height (the split is then the source's exact middle, with the
same scale). Otherwise it resizes in one piece. Pillow's integer pre-reduction (reducing_gap) is
done first, as Pillow does it (the whole image reduced, then the box scaled down with it), so
the LANCZOS after it splits too.
Measured on people.jpg (1122×1402), alone on 2 cores: the model's 320×320 input 15.5 → 7.8 ms,
the 320×320 prediction up to the photo's size ~8 → ~4 ms; the 48 MP mosaic's input (reduced by
2, then LANCZOS) ~100 ms.
"""

from functools import partial

from PIL import Image

from removal.pool import both

_LANCZOS = Image.Resampling.LANCZOS
_MIN_PIXELS = 250_000  # below this, a helper thread costs more than half the work
# Above this many output pixels a piece, the halves are cut again (4, 8, 16 pieces: a power of two,
# so each piece's box in the source is exact), and each piece is pasted as soon as it is made: the
# output plus two pieces at a time, instead of the output plus both halves. A 100 MP mask's upscale
# held 200 MB beside the image; the server's peak on a 100 MP palette PNG was 1053 MiB.
_PIECE_PIXELS = 8_000_000


def _reduction(mode: str, have: tuple[int, int], size: tuple[int, int], reducing_gap: float | None
               ) -> tuple[int, int]:
    """The integer factors Pillow reduces by before resizing (its rule in Image.resize, which never
    reduces palette or bilevel images, resized by NEAREST, nor LA and RGBA ones, resized
    premultiplied without the gap)."""
    if reducing_gap is None or mode in ("1", "P", "LA", "RGBA"):
        return 1, 1
    across, down = (int(side / want / reducing_gap) or 1 for side, want in zip(have, size, strict=True))
    return across, down


def _palette_reduced(image: Image.Image, factor: tuple[int, int]) -> Image.Image:
    """image.convert("RGB").reduce(factor), the palette expanded band by band (bands of whole
    blocks: the rows of the whole reduction): a 100 MP palette image never beside 400 MB of RGB."""
    rows = max(1, _PALETTE_BAND_PIXELS // (image.width * factor[1])) * factor[1]
    out = Image.new("RGB", (-(-image.width // factor[0]), -(-image.height // factor[1])))

    def make(tops: range) -> None:
        for top in tops:
            band = image.crop((0, top, image.width, min(top + rows, image.height))).convert("RGB")
            out.paste(band.reduce(factor), (0, top // factor[1]))

    both(partial(make, range(0, image.height, 2 * rows)), partial(make, range(rows, image.height, 2 * rows)))
    return out


_PALETTE_BAND_PIXELS = 4_000_000  # two at once: 2 × (4 + 16) MB as palette + RGB


def _reduce_split(image: Image.Image, factor: tuple[int, int]) -> Image.Image:
    """image.reduce(factor), the top and bottom blocks at once: each output pixel is the mean of
    its own block, so halves cut on a block boundary are the rows of the whole."""
    blocks_down = -(-image.height // factor[1])
    if image.width * image.height < 2 * _MIN_PIXELS or blocks_down < 2:
        return image.reduce(factor)
    cut = blocks_down // 2 * factor[1]
    upper, lower = both(partial(image.reduce, factor, box=(0, 0, image.width, cut)),
                        partial(image.reduce, factor, box=(0, cut, image.width, image.height)))
    out = Image.new(upper.mode, (upper.width, upper.height + lower.height))
    out.paste(upper, (0, 0))
    out.paste(lower, (0, upper.height))
    return out


def resize_split(image: Image.Image, size: tuple[int, int], *, reducing_gap: float | None = None
                 ) -> Image.Image:
    """image.resize(size, LANCZOS, reducing_gap=…), the same pixels, on two cores when it may. A
    palette ("P") image is resized as its RGB expansion, expanded band by band while it is reduced
    (removal.segment's input of a palette kept by removal.decode)."""
    work = max(image.width * image.height, size[0] * size[1])
    palette = image.mode == "P"
    factor = _reduction("RGB" if palette else image.mode, image.size, size, reducing_gap)
    width, height = image.width / factor[0], image.height / factor[1]  # the box, in reduced pixels
    if factor != (1, 1):
        image = _palette_reduced(image, factor) if palette else _reduce_split(image, factor)
    elif palette:
        image = image.convert("RGB")
    if size[1] % 2 or work < _MIN_PIXELS:
        return image.resize(size, _LANCZOS, box=(0, 0, width, height))
    pieces = 2
    while size[0] * size[1] // pieces > _PIECE_PIXELS and size[1] % (2 * pieces) == 0 and factor == (1, 1):
        pieces *= 2  # only where no pre-reduction made the box fractional
    rows, step = size[1] // pieces, height / pieces  # exact: a power of two
    out = Image.new(image.mode, size)

    def make(indexes: range) -> None:
        for index in indexes:
            box = (0, index * step, width, height if index == pieces - 1 else (index + 1) * step)
            out.paste(image.resize((size[0], rows), _LANCZOS, box=box), (0, index * rows))

    both(partial(make, range(0, pieces, 2)), partial(make, range(1, pieces, 2)))
    return out
