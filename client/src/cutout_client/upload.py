"""The multipart body `POST /rmbg` expects, streamed in chunks so upload progress can be reported.

rembg.js (through Node's form-data) sends the image part first, then the string fields; a Buffer
is named `image.png` whatever it holds. We do the same, except that bytes whose signature we
recognise get the matching name (`image.jpg`, `image.webp`, ...), which is never worse.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cutout_client.errors import ConfigurationError
from cutout_client.progress import ProgressEvent

InputImage = str | os.PathLike | bytes | bytearray | memoryview | Mapping[str, Any] | IO[bytes]
ProgressCallback = Callable[[ProgressEvent], Any]

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"BM", "bmp", "image/bmp"),
)


def image_kind(head: bytes) -> tuple[str, str] | None:
    """(extension, content type) from the first bytes of an image, or None when unknown."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp", "image/webp"
    for magic, ext, content_type in _SIGNATURES:
        if head.startswith(magic):
            return ext, content_type
    return None


@dataclass(frozen=True)
class ImageSource:
    """One image to upload: either a file on disk (read lazily, in chunks) or bytes in memory."""

    filename: str
    content_type: str
    size: int
    path: Path | None = None
    data: bytes | None = None

    def chunks(self, chunk_size: int) -> Iterator[bytes]:
        if self.data is not None:
            view = memoryview(self.data)
            for start in range(0, len(view), chunk_size):
                yield bytes(view[start:start + chunk_size])
            return
        assert self.path is not None
        with open(self.path, "rb") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk


def _from_bytes(data: bytes, filename: str | None = None) -> ImageSource:
    kind = image_kind(data[:16])
    ext, content_type = kind or ("png", "image/png")
    if filename is None:
        filename = f"image.{ext}"
    return ImageSource(filename=filename, content_type=content_type, size=len(data), data=data)


def _base64_decode(payload: str) -> bytes:
    if payload.startswith("data:"):
        _, _, payload = payload.partition(",")
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"input_image['base64'] is not valid base64: {exc}") from exc


def image_source(input_image: InputImage) -> ImageSource:
    """Accept what rembg.js accepts (a path, bytes, `{"base64": ...}`) plus Path and binary files."""
    if isinstance(input_image, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(input_image))
    if isinstance(input_image, Mapping):
        if "base64" not in input_image:
            raise ConfigurationError("input_image as a dict needs a 'base64' key")
        return _from_bytes(_base64_decode(str(input_image["base64"])), input_image.get("filename"))
    if isinstance(input_image, (str, os.PathLike)):
        path = Path(input_image)
        if not path.is_file():
            raise ConfigurationError(f"input image not found: {str(path)!r}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return ImageSource(filename=path.name, content_type=content_type, size=path.stat().st_size, path=path)
    if hasattr(input_image, "read"):
        data = input_image.read()
        if not isinstance(data, bytes):
            raise ConfigurationError("input_image file objects must be opened in binary mode ('rb')")
        name = getattr(input_image, "name", None)
        return _from_bytes(data, Path(name).name if isinstance(name, str) else None)
    raise ConfigurationError(
        "input_image must be a path, bytes, {'base64': ...} or a binary file, "
        f"got {type(input_image).__name__}"
    )


def _quote(value: str) -> str:
    # What browsers and form-data do: no raw quotes or line breaks inside the header value.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody:
    """multipart/form-data with a known Content-Length, produced chunk by chunk.

    Each iteration (`iter_chunks` / `aiter_chunks`) is a fresh pass, so a retried request resends
    the whole body; progress events are emitted after each chunk has been handed to the transport.
    """

    def __init__(self, image: ImageSource | None, fields: Iterable[tuple[str, str]], *,
                 boundary: str | None = None):
        self.image = image  # None: the fields carry an image_url instead
        self.boundary = boundary or f"----CutoutFormBoundary{secrets.token_hex(12)}"
        self._head = b"" if image is None else (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="image"; filename="{_quote(image.filename)}"\r\n'
            f"Content-Type: {image.content_type}\r\n\r\n"
        ).encode()
        parts = [
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n{value}'
            for name, value in fields
        ]
        # After the image's bytes a part starts on a new line; without an image, at the very start.
        tail = "".join(("\r\n" if image is not None or i else "") + part for i, part in enumerate(parts))
        self._tail = f"{tail}\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int:
        return len(self._head) + (self.image.size if self.image else 0) + len(self._tail)

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, "Content-Length": str(self.content_length)}

    def _pieces(self, chunk_size: int) -> Iterator[bytes]:
        yield self._head
        if self.image is not None:
            yield from self.image.chunks(chunk_size)
        yield self._tail

    def iter_chunks(self, chunk_size: int = 65536,
                    on_progress: ProgressCallback | None = None) -> Iterator[bytes]:
        total, loaded, buffer = self.content_length, 0, b""
        for piece in self._pieces(chunk_size):
            buffer += piece
            while len(buffer) >= chunk_size:
                chunk, buffer = buffer[:chunk_size], buffer[chunk_size:]
                yield chunk
                loaded += len(chunk)
                if on_progress is not None:
                    on_progress(ProgressEvent.make(loaded, total, len(chunk), upload=True))
        if buffer:
            yield buffer
            loaded += len(buffer)
            if on_progress is not None:
                on_progress(ProgressEvent.make(loaded, total, len(buffer), upload=True))
        if loaded != total:
            # The file changed size between stat() and reading: the server would see a broken body.
            raise ConfigurationError(f"input image changed while uploading ({loaded} of {total} bytes sent)")

    async def aiter_chunks(self, chunk_size: int = 65536,
                           on_progress: ProgressCallback | None = None) -> AsyncIterator[bytes]:
        for chunk in self.iter_chunks(chunk_size, on_progress):
            yield chunk

    def to_bytes(self) -> bytes:
        return b"".join(self.iter_chunks(self.content_length or 1))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def form_fields(*, format: str = "webp", w: int | None = 0, h: int | None = 0, exact_resize: bool = False,
                mask: bool = False, bg_color: str | None = None, angle: float | None = None,
                expand: bool = True, return_base64: bool = False, refine: str | None = None,
                crop: bool = False, crop_margin: int | str | None = None,
                model: str | None = None, quality: str | None = None) -> list[tuple[str, str]]:
    """The string fields rembg.js sends: always exact_resize, w, h, mask, return_base64, format,
    expand (w=0/h=0 meaning "unset"), and bg_color/angle only when given; then Cutout's own
    (refine, crop, crop_margin, model, quality) only when given, so a default call is rembg.js' byte
    for byte."""
    fields = [
        ("exact_resize", _flag(exact_resize)),
        ("w", str(w or 0)),
        ("h", str(h or 0)),
        ("mask", _flag(mask)),
        ("return_base64", _flag(return_base64)),
        ("format", str(format)),
        ("expand", _flag(expand)),
    ]
    if bg_color:
        fields.append(("bg_color", str(bg_color)))
    if angle is not None:
        fields.append(("angle", _number(angle)))
    if refine:
        fields.append(("refine", str(refine)))
    if crop:
        fields.append(("crop", "true"))
    if crop_margin not in (None, ""):
        fields.append(("crop_margin", str(crop_margin)))
    if model:
        fields.append(("model", str(model)))
    if quality:
        fields.append(("quality", str(quality)))
    return fields


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
