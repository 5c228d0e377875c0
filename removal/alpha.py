"""A WEBP alpha plane (the ALPH chunk's payload), lossless, encoded with numpy in a few bytes a pixel.

libwebp's lossless encoder, fed the alpha as a green channel, holds an ARGB copy of the plane and a
hash chain over it (~12 bytes a pixel: 1.1 GB for a rotated 48 MP cut-out, 1.2 GB for 100 MP) and
runs on one core. A matte needs little of what it offers: after WebP's vertical filter (each value
minus the one above) a cut-out is zeros but along its edges. So this writes the smallest legal VP8L
stream that codes that well, per the WebP lossless bitstream specification: no transforms, no
colour cache, one prefix-code group; each run of equal filtered values is one literal followed by
a copy of the pixel to its left (distance code 2) of the run's length; red, blue and alpha are
single-symbol codes (zero bits a pixel), the distance code too. Only the green / length code is a
real Huffman code (lengths ≤ 15, its code lengths written with a flat 4-bit code-length code).
Every step is a numpy pass over the plane or over the runs; the plane is never copied wider than
a byte a pixel.
"""

import heapq
from collections.abc import Callable
from functools import partial

import numpy as np

from removal.pool import both

_FILTER_VERTICAL = 2
_MIN_RUN = 4  # shorter runs are cheaper as literals
_MAX_COPY = 4096  # the longest VP8L backward reference
_GREEN_SYMBOLS = 256 + 24  # literals + length prefixes (no colour cache)
_MAX_CODE_LENGTH = 15
_CODE_LENGTH_ORDER = (17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)


def _vertical_filter(block: np.ndarray, above: np.ndarray | None) -> np.ndarray:
    """WebP's vertical filter of a block of rows, as a new array: each value minus the one above (mod
    256; `above` is the row over the block's first, None for the image's top row, which is filtered
    by its left neighbour instead, the top-left corner kept as is)."""
    out = np.empty_like(block)
    if above is None:
        out[0, 0] = block[0, 0]
        np.subtract(block[0, 1:], block[0, :-1], out=out[0, 1:])
    else:
        np.subtract(block[0], above, out=out[0])
    np.subtract(block[1:], block[:-1], out=out[1:])
    return out


def _prefix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VP8L's prefix coding of distances/lengths ≥ 1: (prefix symbol, extra bits, their count)."""
    x = values.astype(np.int64) - 1
    high = np.zeros_like(x)
    big = x >= 4
    high[big] = np.floor(np.log2(x[big])).astype(np.int64)
    second = np.where(big, (x >> np.maximum(high - 1, 0)) & 1, 0)
    prefix = np.where(big, 2 * high + second, x)
    nbits = np.where(big, high - 1, 0)
    extra = np.where(big, x & ((1 << nbits) - 1), 0)
    return prefix, extra, nbits


def _huffman_lengths(counts: np.ndarray) -> np.ndarray:
    """Code lengths (≤ 15) of a Huffman code for `counts`; at least two symbols get a code."""
    counts = counts.astype(np.int64).copy()
    used = np.flatnonzero(counts)
    if len(used) < 2:  # a decoder reads a one-symbol code as zero bits; keep two to stay plain
        counts[0 if (len(used) == 0 or used[0] != 0) else 1] += 1
        if len(np.flatnonzero(counts)) < 2:
            counts[2] += 1
    floor = 0
    while True:
        weights = np.where(counts > 0, np.maximum(counts, floor), 0)
        heap: list[tuple[int, int, tuple[int, ...]]] = [
            (int(w), i, (int(s),)) for i, (s, w) in enumerate((s, w) for s, w in enumerate(weights) if w > 0)]
        heapq.heapify(heap)
        lengths = np.zeros(len(counts), dtype=np.int64)
        tiebreak = len(heap)
        while len(heap) > 1:
            w1, _, s1 = heapq.heappop(heap)
            w2, _, s2 = heapq.heappop(heap)
            for symbol in s1 + s2:
                lengths[symbol] += 1
            heapq.heappush(heap, (w1 + w2, tiebreak, s1 + s2))
            tiebreak += 1
        if lengths.max() <= _MAX_CODE_LENGTH:
            return lengths
        floor = max(1, int(floor * 2 or counts.sum() >> 14))  # flatten the tail until it fits


def _canonical_codes(lengths: np.ndarray) -> np.ndarray:
    """Canonical codes for `lengths`, bit-reversed (VP8L, like deflate, reads a code's first bit first)."""
    codes = np.zeros(len(lengths), dtype=np.int64)
    code = 0
    for length in range(1, _MAX_CODE_LENGTH + 1):
        for symbol in np.flatnonzero(lengths == length):
            codes[symbol] = int(format(code, f"0{length}b")[::-1], 2)
            code += 1
        code <<= 1
    return codes


def _pack(values: np.ndarray, counts: np.ndarray, start: int) -> np.ndarray:
    """Fields of ≤ 32 bits, least significant bit first, packed into 64-bit words, the first field
    at bit `start` (0 ≤ start < 64) of the first word, the bits below it zero (they belong to what
    comes before: the caller ORs the pieces together). A field lands in its word (shifted) and, when
    it crosses into the next, the rest there; a word is the OR of the fields in it
    (np.bitwise_or.reduceat over the fields, which come in order)."""
    counts = counts.astype(np.int64)
    ends = np.cumsum(counts) + start
    starts = ends - counts
    values = values.astype(np.uint64)
    word = starts >> 6
    shift = (starts & 63).astype(np.uint64)
    out = np.zeros((int(ends[-1]) >> 6) + 2 if len(ends) else 1, dtype=np.uint64)
    if not len(values):
        return out
    first = np.concatenate(([0], np.flatnonzero(word[1:] != word[:-1]) + 1))
    out[word[first]] = np.bitwise_or.reduceat(values << shift, first)
    spill = np.flatnonzero(starts % 64 + counts > 64)  # such a field starts at a shift > 32
    out[word[spill] + 1] |= values[spill] >> (np.uint64(64) - shift[spill])
    return out


def _tokens(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The green/length symbols of a run of filtered values, and each one's extra bits and their count:
    each run of equal values one literal and copies of the pixel to its left (≤ 4096 each), runs
    shorter than _MIN_RUN as literals."""
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [flat.size])))
    run_values = flat[starts]
    del change
    long = lengths >= _MIN_RUN
    copies = np.where(long, lengths - 1, 0)
    tokens_per_run = np.where(long, 1 + -(-copies // _MAX_COPY), lengths)
    literals = np.where(long, 1, lengths)
    run_of = np.repeat(np.arange(len(starts), dtype=np.int32), tokens_per_run)
    within = np.arange(len(run_of), dtype=np.int64) - (np.cumsum(tokens_per_run) - tokens_per_run)[run_of]
    is_copy = within >= literals[run_of]
    symbol = run_values[run_of].astype(np.int16)
    copy_runs = run_of[is_copy]
    remaining = copies[copy_runs] - (within[is_copy] - 1) * _MAX_COPY
    length = np.minimum(remaining, _MAX_COPY)
    prefix, extra_bits = _LENGTH_PREFIX[length], _LENGTH_EXTRA_BITS[length]
    extra = (length - 1) & ((1 << extra_bits.astype(np.int64)) - 1)
    symbol[is_copy] = 256 + prefix
    extras = np.zeros(len(symbol), dtype=np.uint16)
    extras[is_copy] = extra
    counts = np.zeros(len(symbol), dtype=np.uint8)
    counts[is_copy] = extra_bits
    return symbol, extras, counts


_LENGTH_PREFIX, _, _LENGTH_EXTRA_BITS = (np.concatenate(([0], part)).astype(np.int16)
                                          for part in _prefix(np.arange(1, _MAX_COPY + 1)))
_BLOCK_PIXELS = 1 << 19  # rows filtered and tokenised at a time: bounds the temporaries (~20 MB)
# From this many pixels on, the blocks are tokenised and written on two threads (removal.pool.both:
# the caller must not be a helper itself). A rotated 48 MP cut-out's alpha (91 MP, 15 M tokens) took
# 0.9 s alone, longer than the colour's VP8 beside it.
_PARALLEL_PIXELS = 4_000_000

Block = tuple[np.ndarray, np.ndarray, np.ndarray]  # symbols, their extra bits, the extra bits' counts


def _tokenize(alpha: np.ndarray, tops: list[int], rows: int) -> list[tuple[Block, np.ndarray]]:
    """Each block of rows from `tops`: its tokens and the histogram of its symbols."""
    out = []
    for top in tops:
        filtered = _vertical_filter(alpha[top:top + rows], alpha[top - 1] if top else None)
        block = _tokens(filtered.ravel())
        del filtered
        out.append((block, np.bincount(block[0], minlength=_GREEN_SYMBOLS)))
    return out


def _write(placed: list[tuple[Block, int]], lengths: np.ndarray, codes: np.ndarray
           ) -> list[tuple[int, np.ndarray]]:
    """Each block's bits at its start (in bits from the stream's start): (first word, words)."""
    out = []
    for (symbol, extras, extra_counts), start in placed:
        code_lengths = lengths[symbol]
        fields = codes[symbol] | (extras.astype(np.int64) << code_lengths)  # code, then extra bits
        out.append((start >> 6, _pack(fields, code_lengths + extra_counts, start & 63)))
    return out


def _halves(work: Callable[[list], list], items: list, parallel: bool) -> list:
    if not parallel or len(items) < 2:
        return work(items)
    middle = len(items) // 2
    first, second = both(partial(work, items[:middle]), partial(work, items[middle:]))
    return first + second


def _header(green_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The VP8L stream's fields before the pixels: (values, bit counts)."""
    fields = [
        (0, 1),  # no transform
        (0, 1),  # no colour cache
        (0, 1),  # no meta prefix codes: one group for the whole image
        # Green + lengths: a normal code; the code-length code gives each of 0..15 four bits.
        (0, 1),
        (len(_CODE_LENGTH_ORDER) - 4, 4),
        *((4 if length_symbol < 16 else 0, 3) for length_symbol in _CODE_LENGTH_ORDER),
        (0, 1),  # max_symbol = the alphabet's size
    ]
    code_length_codes = _canonical_codes(np.array([4] * 16 + [0] * 3))
    fields += [(int(code), 4) for code in code_length_codes[green_lengths]]
    for single in (0, 0, 0, 1):  # red, blue, alpha: symbol 0; distance: symbol 1 (= code 2, the left pixel)
        fields += [(1, 1), (0, 1), (0, 1), (single, 1)]  # simple code, one symbol, in 1 bit, which
    values, counts = zip(*fields, strict=True)
    return np.array(values, dtype=np.uint64), np.array(counts, dtype=np.int64)


def alph_encode(alpha: np.ndarray) -> bytes:
    """The ALPH chunk's payload for a 2-D uint8 alpha plane: its header byte (vertical filter,
    lossless) and a VP8L image stream without the VP8L header (the size is the image's).
    Block by block of rows (a run crossing a block's end is two runs: a literal more); each block's
    bits are written at their place in the stream (its start is known from its symbols' histogram),
    so the two halves of the blocks are tokenised, then written, side by side."""
    height, width = alpha.shape
    rows = max(1, _BLOCK_PIXELS // width)
    parallel = alpha.size >= _PARALLEL_PIXELS
    tokenised = _halves(partial(_tokenize, alpha, rows=rows), list(range(0, height, rows)), parallel)
    blocks = [block for block, _ in tokenised]
    histograms = [histogram for _, histogram in tokenised]
    del tokenised
    green_lengths = _huffman_lengths(np.sum(histograms, axis=0))
    green_codes = _canonical_codes(green_lengths)

    header_values, header_counts = _header(green_lengths)
    starts, position = [], int(header_counts.sum())
    for (_, _, extra_counts), histogram in zip(blocks, histograms, strict=True):
        starts.append(position)
        position += int(histogram @ green_lengths) + int(extra_counts.sum(dtype=np.int64))
    placed = list(zip(blocks, starts, strict=True))
    del blocks
    pieces = [(0, _pack(header_values, header_counts, 0))]
    pieces += _halves(partial(_write, lengths=green_lengths, codes=green_codes), placed, parallel)
    del placed
    words = np.zeros((position >> 6) + 2, dtype=np.uint64)
    for first, piece in pieces:
        end = min(len(words), first + len(piece))
        words[first:end] |= piece[:end - first]
    stream = words.astype("<u8").tobytes()[:(position + 7) // 8]
    return bytes([(_FILTER_VERTICAL << 2) | 1]) + stream
