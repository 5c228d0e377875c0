"""libwebp's advanced encoder through ctypes: a lossy WEBP cut-out with an exact alpha, fed strip by strip.

Pillow's WEBP save converts the whole image to ARGB (4 bytes a pixel) before libwebp converts it
again to YUV, and offers no way to give it the colour and the alpha apart. Here the picture's YUV
planes (1.5 bytes a pixel) and our alpha plane (1 byte) are allocated once and filled from strips
of rows made on demand (`strip_make`), on two threads (removal.pool.both): the caller never holds
a full-size RGBA copy, and a rotated output is rotated strip by strip straight into the planes.
Then libwebp encodes the colour (VP8) while removal.alpha encodes the alpha (ALPH) beside it, and
the two are put in the extended container (VP8X, ICCP?, ALPH, VP8) every WEBP decoder reads.
RGB → YUV 4:2:0 works on 2×2 blocks, so strips of an even height import to the same planes as
the whole image.

The library is the one Pillow's own WEBP plugin loads (its wheel ships it), else the system's
libwebp; `available()` is False when neither loads, and encode.py keeps Pillow's path.
"""

import ctypes
import ctypes.util
import glob
import os
import struct
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from PIL import Image

from removal.alpha import alph_encode
from removal.pool import both

_ABI = 0x0209  # WEBP_ENCODER_ABI_VERSION: libwebp checks the major byte only (2 since 0.5)
_STRIP_ROWS = 256  # even: 4:2:0 chroma rows pair luma rows
_PARALLEL_PIXELS = 1_000_000  # below this, a second thread costs more than it saves


class _Config(ctypes.Structure):
    _fields_ = [(name, ctypes.c_float if name in ("quality", "target_PSNR") else ctypes.c_int) for name in (
        "lossless", "quality", "method", "image_hint", "target_size", "target_PSNR", "segments",
        "sns_strength", "filter_strength", "filter_sharpness", "filter_type", "autofilter",
        "alpha_compression", "alpha_filtering", "alpha_quality", "pass_", "show_compressed",
        "preprocessing", "partitions", "partition_limit", "emulate_jpeg_size", "thread_level",
        "low_memory", "near_lossless", "exact", "use_delta_palette", "use_sharp_yuv", "qmin", "qmax")]


class _Picture(ctypes.Structure):
    _fields_ = [
        ("use_argb", ctypes.c_int), ("colorspace", ctypes.c_int), ("width", ctypes.c_int),
        ("height", ctypes.c_int), ("y", ctypes.c_void_p), ("u", ctypes.c_void_p), ("v", ctypes.c_void_p),
        ("y_stride", ctypes.c_int), ("uv_stride", ctypes.c_int), ("a", ctypes.c_void_p),
        ("a_stride", ctypes.c_int), ("pad1", ctypes.c_uint32 * 2), ("argb", ctypes.c_void_p),
        ("argb_stride", ctypes.c_int), ("pad2", ctypes.c_uint32 * 3), ("writer", ctypes.c_void_p),
        ("custom_ptr", ctypes.c_void_p), ("extra_info_type", ctypes.c_int), ("extra_info", ctypes.c_void_p),
        ("stats", ctypes.c_void_p), ("error_code", ctypes.c_int), ("progress_hook", ctypes.c_void_p),
        ("user_data", ctypes.c_void_p), ("pad3", ctypes.c_uint32 * 3), ("pad4", ctypes.c_void_p),
        ("pad5", ctypes.c_void_p), ("pad6", ctypes.c_uint32 * 8), ("memory_", ctypes.c_void_p),
        ("memory_argb_", ctypes.c_void_p), ("pad7", ctypes.c_void_p * 2),
    ]


class _MemoryWriter(ctypes.Structure):
    _fields_ = [("mem", ctypes.c_void_p), ("size", ctypes.c_size_t), ("max_size", ctypes.c_size_t),
                ("pad", ctypes.c_uint32 * 1)]


def _library() -> ctypes.CDLL | None:
    import PIL

    bundled = os.path.join(os.path.dirname(PIL.__path__[0]), "pillow.libs", "libwebp-*.so*")
    candidates = sorted(glob.glob(bundled))
    system = ctypes.util.find_library("webp")
    for path in [*candidates, *([system] if system else [])]:
        try:
            lib = ctypes.CDLL(path)
            lib.WebPEncode  # noqa: B018 - an encoder build, not the decoder alone
        except (OSError, AttributeError):
            continue
        if lib.WebPGetEncoderVersion() >= 0x010000:
            return lib
    return None


_lib: Any = _library()  # Any: ctypes resolves the functions by name
if _lib is not None:
    for _name, _args in {
        "WebPConfigInitInternal": (ctypes.POINTER(_Config), ctypes.c_int, ctypes.c_float, ctypes.c_int),
        "WebPValidateConfig": (ctypes.POINTER(_Config),),
        "WebPPictureInitInternal": (ctypes.POINTER(_Picture), ctypes.c_int),
        "WebPPictureAlloc": (ctypes.POINTER(_Picture),),
        "WebPPictureFree": (ctypes.POINTER(_Picture),),
        "WebPPictureImportRGBX": (ctypes.POINTER(_Picture), ctypes.c_void_p, ctypes.c_int),
        "WebPEncode": (ctypes.POINTER(_Config), ctypes.POINTER(_Picture)),
        "WebPMemoryWriterInit": (ctypes.POINTER(_MemoryWriter),),
        "WebPMemoryWriterClear": (ctypes.POINTER(_MemoryWriter),),
    }.items():
        getattr(_lib, _name).argtypes = _args
    _MEMORY_WRITE = ctypes.cast(_lib.WebPMemoryWrite, ctypes.c_void_p).value


def available() -> bool:
    return _lib is not None


def _plane(pointer: int, rows: int, stride: int) -> np.ndarray:
    return np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctypes.c_uint8)), shape=(rows, stride))


# (RGB strip, its alpha), or (RGB strip, None) when encode_strips was given the whole alpha plane.
StripMake = Callable[[int, int], tuple[Image.Image, Image.Image | None]]


def _strip_fill(picture: _Picture, alpha_plane: np.ndarray | None, strip_make: StripMake, top: int,
                bottom: int) -> None:
    """Rows top..bottom of the picture's planes from strip_make(top, bottom) → (RGB, L), black
    under alpha 0 (hidden colour costs bytes and time; libwebp's RGBA path blanks it too).
    `alpha_plane` None: an opaque picture, the strips' colour only."""
    rgb, alpha = strip_make(top, bottom)
    width, rows = picture.width, bottom - top
    # Pillow keeps RGB in 4 bytes a pixel: RGBX is a plain copy. A pixel as one uint32 times
    # "visible" blanks it (8× faster than a uint8 multiply broadcast over the channels).
    rgbx = np.frombuffer(rgb.tobytes("raw", "RGBX"), dtype=np.uint32).reshape(rows, width)
    del rgb
    if alpha_plane is not None:
        alpha_rows = alpha_plane[top:bottom]
        if alpha is not None:
            alpha_rows[:] = np.asarray(alpha)
        if not alpha_rows.all():
            rgbx = np.multiply(rgbx, alpha_rows != 0, dtype=np.uint32)
    del alpha
    strip = _Picture()
    _lib.WebPPictureInitInternal(ctypes.byref(strip), _ABI)
    strip.width, strip.height = width, rows
    if not _lib.WebPPictureImportRGBX(ctypes.byref(strip), rgbx.ctypes.data, width * 4):
        raise MemoryError("libwebp could not import a strip")
    del rgbx
    try:
        chroma_rows, chroma_top = (rows + 1) // 2, top // 2
        _plane(picture.y, picture.height, picture.y_stride)[top:bottom, :width] = \
            _plane(strip.y, rows, strip.y_stride)[:, :width]
        half = (width + 1) // 2
        for ours, theirs in ((picture.u, strip.u), (picture.v, strip.v)):
            target = _plane(ours, (picture.height + 1) // 2, picture.uv_stride)
            source = _plane(theirs, chroma_rows, strip.uv_stride)
            target[chroma_top:chroma_top + chroma_rows, :half] = source[:, :half]
    finally:
        _lib.WebPPictureFree(ctypes.byref(strip))


def _strips_fill(picture: _Picture, alpha: np.ndarray | None, strip_make: StripMake, parallel: bool) -> None:
    bounds = [(top, min(top + _STRIP_ROWS, picture.height)) for top in range(0, picture.height, _STRIP_ROWS)]

    def fill(part: list[tuple[int, int]]) -> None:
        for top, bottom in part:
            _strip_fill(picture, alpha, strip_make, top, bottom)

    if parallel and len(bounds) > 1:
        both(partial(fill, bounds[0::2]), partial(fill, bounds[1::2]))
    else:
        fill(bounds)


def _riff_chunk(tag: bytes, payload: bytes) -> bytes:
    return tag + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def _vp8_encode(picture: _Picture, quality: float, method: int, threads: bool = False) -> bytes:
    """The VP8 chunk's payload of the picture's YUV planes. `threads`: libwebp's thread_level, its
    analysis pass on a second thread (the same bytes; 48 MP: 0.86 → 0.75 s)."""
    config = _Config()
    _lib.WebPConfigInitInternal(ctypes.byref(config), 0, quality, _ABI)  # WEBP_PRESET_DEFAULT
    config.method = method
    config.thread_level = int(threads)
    if not _lib.WebPValidateConfig(ctypes.byref(config)):
        raise ValueError("invalid libwebp configuration")
    writer = _MemoryWriter()
    _lib.WebPMemoryWriterInit(ctypes.byref(writer))
    try:
        picture.writer = _MEMORY_WRITE
        picture.custom_ptr = ctypes.cast(ctypes.byref(writer), ctypes.c_void_p)
        if not _lib.WebPEncode(ctypes.byref(config), ctypes.byref(picture)):
            raise MemoryError(f"libwebp could not encode the picture (error {picture.error_code})")
        data = ctypes.string_at(writer.mem, writer.size)
    finally:
        _lib.WebPMemoryWriterClear(ctypes.byref(writer))
    if data[12:16] != b"VP8 ":
        raise ValueError("libwebp wrote no simple lossy WEBP")
    (size,) = struct.unpack("<I", data[16:20])
    return data[20:20 + size]


def encode_strips(size: tuple[int, int], strip_make: StripMake, *, quality: float, method: int,
                  icc_profile: bytes | None = None, release: Callable[[], None] | None = None,
                  alpha: np.ndarray | None = None, opaque: bool = False) -> bytes:
    """A WEBP file of size `size` whose rows come from `strip_make(top, bottom)`: an RGB strip and
    its alpha ("L"), each bottom − top rows high (the colour under alpha 0 is written black).
    `release` runs once every strip is in the planes,
    before encoding (the caller drops its full-size images there). `alpha`: the whole alpha plane
    (height × width, only read), taken over, when the caller has it: one copy fewer. `opaque`: no
    alpha at all (the strips' alpha is ignored), written as Pillow writes an RGB image: VP8 alone,
    in a VP8X container only to carry an ICC profile."""
    width, height = size
    picture = _Picture()
    _lib.WebPPictureInitInternal(ctypes.byref(picture), _ABI)
    picture.width, picture.height = width, height  # YUV 4:2:0, no alpha: removal.alpha writes it
    if not _lib.WebPPictureAlloc(ctypes.byref(picture)):
        raise MemoryError("libwebp could not allocate the picture")
    try:
        if opaque:
            alpha = None
        elif alpha is None:
            alpha = np.empty((height, width), dtype=np.uint8)
        parallel = width * height >= _PARALLEL_PIXELS
        _strips_fill(picture, alpha, strip_make, parallel=parallel)
        if release:
            release()
        alph: bytes | None = None
        if alpha is None:  # opaque
            vp8 = _vp8_encode(picture, quality, method, threads=parallel)
        elif parallel:  # the alpha in this thread: it may use a helper itself (removal.alpha)
            alph, vp8 = both(partial(alph_encode, alpha),
                             partial(_vp8_encode, picture, quality, method, threads=True))
        else:
            vp8, alph = _vp8_encode(picture, quality, method), alph_encode(alpha)
    finally:
        _lib.WebPPictureFree(ctypes.byref(picture))
    del alpha
    if alph is None and not icc_profile:  # the simple format
        payload = b"WEBP" + _riff_chunk(b"VP8 ", vp8)
        return b"RIFF" + struct.pack("<I", len(payload)) + payload
    flags = (0x10 if alph is not None else 0) | (0x20 if icc_profile else 0)  # alpha, ICC profile
    body = [_riff_chunk(b"VP8X", struct.pack("<B3x", flags) + (width - 1).to_bytes(3, "little")
                        + (height - 1).to_bytes(3, "little"))]
    if icc_profile:
        body.append(_riff_chunk(b"ICCP", icc_profile))
    if alph is not None:
        body.append(_riff_chunk(b"ALPH", alph))
    body.append(_riff_chunk(b"VP8 ", vp8))
    payload = b"WEBP" + b"".join(body)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload
