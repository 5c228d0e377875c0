"""What a successful removal returns, and the sink that writes the response as it arrives."""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cutout_client.progress import ProgressEvent

EXTENSIONS = {"image/webp": ".webp", "image/png": ".png", "image/jpeg": ".jpg", "image/bmp": ".bmp"}


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def _box_header(headers: Mapping[str, str]) -> tuple[int, int, int, int] | None:
    """The subject's box (input pixels) from X-Foreground-Left/Top/Width/Height; None if absent."""
    values = [_int_header(headers, f"x-foreground-{side}") for side in ("left", "top", "width", "height")]
    return None if None in values else tuple(values)  # type: ignore[return-value]


@dataclass(frozen=True)
class RateLimit:
    """The short-term window after this request (RateLimit-* headers)."""

    limit: int | None
    remaining: int | None
    reset_seconds: int | None


@dataclass(frozen=True)
class ResponseInfo:
    content_type: str
    width: int | None
    height: int | None
    credits_charged: int
    rate_limit: RateLimit
    test_mode: bool = False  # a ck_test_ key: free, result scaled to 0.25 MP
    replayed: bool = False  # the stored answer to an earlier request with the same Idempotency-Key
    refine: str | None = None  # X-Refine: "matting" | "reduced" | "skipped", when refine was asked
    foreground: tuple[int, int, int, int] | None = None  # X-Foreground-*: left, top, width, height
    refine_reason: str | None = None  # X-Refine-Reason: why skipped ("mask-uncertain", "too-large", ...)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ResponseInfo:
        return cls(
            content_type=headers.get("content-type", "application/octet-stream").split(";")[0].strip(),
            width=_int_header(headers, "x-width"),
            height=_int_header(headers, "x-height"),
            credits_charged=_int_header(headers, "x-credits-charged") or 0,
            rate_limit=RateLimit(
                limit=_int_header(headers, "ratelimit-limit"),
                remaining=_int_header(headers, "ratelimit-remaining"),
                reset_seconds=_int_header(headers, "ratelimit-reset"),
            ),
            test_mode=headers.get("x-test-mode") == "true",
            replayed=headers.get("idempotent-replayed") == "true",
            refine=headers.get("x-refine"),
            foreground=_box_header(headers),
            refine_reason=headers.get("x-refine-reason"),
        )


@dataclass(frozen=True)
class RemovalResult:
    """The processed image on disk. `cleanup()` deletes it (like rembg.js' `cleanup`); usable as a
    context manager that cleans up on exit."""

    output_path: Path
    content_type: str
    width: int | None
    height: int | None
    credits_charged: int
    rate_limit: RateLimit
    test_mode: bool = False
    replayed: bool = False
    refine: str | None = None
    foreground: tuple[int, int, int, int] | None = None  # the subject's box in input pixels
    refine_reason: str | None = None  # X-Refine-Reason

    def read_bytes(self) -> bytes:
        return self.output_path.read_bytes()

    def cleanup(self) -> None:
        self.output_path.unlink(missing_ok=True)

    def __enter__(self) -> RemovalResult:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and put back (what os offers before Python 3.13)
    os.umask(mask)
    return mask


class ResponseSink:
    """Receives the response body chunk by chunk: to a file (atomically renamed into place when
    complete, so an interrupted download never leaves a half image) or to memory for base64."""

    def __init__(self, headers: Mapping[str, str], *, to_base64: bool, output_path: str | os.PathLike | None,
                 on_progress: Callable[[ProgressEvent], Any] | None):
        self.info = ResponseInfo.from_headers(headers)
        self.total = _int_header(headers, "content-length")
        self.on_progress = on_progress
        self.to_base64 = to_base64
        self._encoded = headers.get("content-encoding", "identity").lower() not in ("", "identity")
        self._decoded = self._reported = 0
        self._buffer = bytearray()
        self._final: Path | None = None
        self._handle = None
        if not to_base64:
            suffix = EXTENSIONS.get(self.info.content_type, ".bin")
            if output_path is None:
                fd, name = tempfile.mkstemp(prefix="cutout-", suffix=suffix)
                self._final = Path(name)
            else:
                self._final = Path(output_path)
                self._final.parent.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(prefix=f".{self._final.name}.", suffix=".part",
                                            dir=self._final.parent)
                # mkstemp makes 0600; a file the user asked for gets the mode any tool would give it.
                os.fchmod(fd, 0o666 & ~_umask())
            self._partial = Path(name)
            self._handle = os.fdopen(fd, "wb")

    def write(self, chunk: bytes, raw_loaded: int) -> None:
        """Store a decoded chunk; `raw_loaded` is the bytes received on the wire so far."""
        if self._handle is not None:
            self._handle.write(chunk)
        else:
            self._buffer += chunk
        self._decoded += len(chunk)
        if self.on_progress is None:
            return
        # Content-Length counts wire bytes: without a content encoding that is what we decoded; with
        # one (gzip), report the wire count, which only moves when the network delivers more.
        loaded = raw_loaded if self._encoded else self._decoded
        if loaded > self._reported:
            step, self._reported = loaded - self._reported, loaded
            self.on_progress(ProgressEvent.make(loaded, self.total, step, download=True))

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._partial.unlink(missing_ok=True)

    def finish(self) -> RemovalResult | str:
        info = self.info
        if self._handle is None:
            return f"data:{info.content_type};base64,{base64.b64encode(bytes(self._buffer)).decode('ascii')}"
        self._handle.close()
        assert self._final is not None
        if self._partial != self._final:
            os.replace(self._partial, self._final)
        return RemovalResult(output_path=self._final, content_type=info.content_type, width=info.width,
                             height=info.height, credits_charged=info.credits_charged,
                             rate_limit=info.rate_limit, test_mode=info.test_mode, replayed=info.replayed,
                             refine=info.refine, foreground=info.foreground, refine_reason=info.refine_reason)
