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

import numpy as np

_FILTER_VERTICAL = 2
_MIN_RUN = 4  # shorter runs are cheaper as literals
_MAX_COPY = 4096  # the longest VP8L backward reference
_GREEN_SYMBOLS = 256 + 24  # literals + length prefixes (no colour cache)
_MAX_CODE_LENGTH = 15
_CODE_LENGTH_ORDER = (17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)


def _vertical_filter(alpha: np.ndarray) -> np.ndarray:
    """WebP's vertical filter as a new array: each value minus the one above (mod 256), the top row
    minus its left neighbour, the top-left corner as is."""
    out = np.empty_like(alpha)
    out[0, 0] = alpha[0, 0]
    np.subtract(alpha[0, 1:], alpha[0, :-1], out=out[0, 1:])
    np.subtract(alpha[1:], alpha[:-1], out=out[1:])
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


class _Bits:
    """A little-endian bit writer for the header (a few hundred fields)."""

    def __init__(self) -> None:
        self.values: list[int] = []
        self.counts: list[int] = []

    def put(self, value: int, count: int) -> None:
        self.values.append(value)
        self.counts.append(count)


def _pack(values: np.ndarray, counts: np.ndarray) -> bytes:
    """Concatenate fields of `counts` bits (≤ 32 each), least significant bit first, into bytes."""
    counts = counts.astype(np.int64)
    ends = np.cumsum(counts)
    starts = ends - counts
    total = int(ends[-1]) if len(ends) else 0
    size = (total + 7) // 8
    shifted = values.astype(np.uint64) << (starts & 7).astype(np.uint64)
    index = starts >> 3
    out = np.zeros(size + 8, dtype=np.float64)
    for byte in range(5):  # a field of ≤ 32 bits shifted by ≤ 7 spans ≤ 5 bytes; fields never overlap
        part = ((shifted >> np.uint64(8 * byte)) & np.uint64(0xFF)).astype(np.float64)
        keep = part > 0
        out += np.bincount(index[keep] + byte, weights=part[keep], minlength=size + 8)
    return out[:size].astype(np.uint8).tobytes()


def alph_encode(alpha: np.ndarray) -> bytes:
    """The ALPH chunk's payload for a 2-D uint8 alpha plane: its header byte (vertical filter,
    lossless) and a VP8L image stream without the VP8L header (the size is the image's)."""
    flat = _vertical_filter(alpha).ravel()
    # Runs of equal values: [start, end) of each, and its value.
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [flat.size])))
    run_values = flat[starts]
    del flat, change
    long = lengths >= _MIN_RUN
    # Every short run is `length` literals; a long one a literal and copies of ≤ 4096 pixels.
    copies = np.where(long, lengths - 1, 0)
    pieces = np.where(long, -(-copies // _MAX_COPY), 0)
    literals = np.where(long, 1, lengths)
    tokens_per_run = literals + pieces
    total = int(tokens_per_run.sum())
    run_of = np.repeat(np.arange(len(starts)), tokens_per_run)
    first = np.cumsum(tokens_per_run) - tokens_per_run
    within = np.arange(total) - first[run_of]
    is_literal = within < literals[run_of]
    symbol = np.empty(total, dtype=np.int64)
    symbol[is_literal] = run_values[run_of[is_literal]]
    copy_tokens = ~is_literal
    piece = within[copy_tokens] - literals[run_of[copy_tokens]]  # 0.. pieces-1 within the run
    remaining = copies[run_of[copy_tokens]] - piece * _MAX_COPY
    copy_length = np.minimum(remaining, _MAX_COPY)
    prefix, extra, extra_bits = _prefix(copy_length)
    symbol[copy_tokens] = 256 + prefix
    del run_of, within, first

    green_lengths = _huffman_lengths(np.bincount(symbol, minlength=_GREEN_SYMBOLS))
    green_codes = _canonical_codes(green_lengths)

    header = _Bits()
    header.put(0, 1)  # no transform
    header.put(0, 1)  # no colour cache
    header.put(0, 1)  # no meta prefix codes: one group for the whole image
    # Green + lengths: a normal code; the code-length code gives each of 0..15 four bits.
    header.put(0, 1)
    header.put(len(_CODE_LENGTH_ORDER) - 4, 4)
    for symbol_ in _CODE_LENGTH_ORDER:
        header.put(4 if symbol_ < 16 else 0, 3)
    header.put(0, 1)  # max_symbol = the alphabet's size
    code_length_codes = _canonical_codes(np.array([4] * 16 + [0] * 3))
    for length in green_lengths:
        header.put(int(code_length_codes[length]), 4)
    for single in (0, 0, 0, 1):  # red, blue, alpha: symbol 0; distance: symbol 1 (= code 2, the left pixel)
        header.put(1, 1)  # simple code
        header.put(0, 1)  # one symbol
        header.put(0, 1)  # in 1 bit
        header.put(single, 1)

    values = green_codes[symbol]
    counts = green_lengths[symbol]
    values[copy_tokens] |= extra << counts[copy_tokens]
    counts[copy_tokens] += extra_bits
    all_values = np.concatenate((np.array(header.values, dtype=np.int64), values))
    all_counts = np.concatenate((np.array(header.counts, dtype=np.int64), counts))
    return bytes([(_FILTER_VERTICAL << 2) | 1]) + _pack(all_values, all_counts)
