"""Progress events shaped like axios' (what rembg.js hands to its callbacks)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """loaded/total bytes so far, `progress` in 0..1 (None when the total is unknown), `bytes` in
    this step, and which direction it is. Also readable as a mapping: `event["loaded"]`."""

    loaded: int
    total: int | None
    progress: float | None
    bytes: int
    upload: bool = False
    download: bool = False

    @classmethod
    def make(cls, loaded: int, total: int | None, step: int, *, upload: bool = False,
             download: bool = False) -> ProgressEvent:
        progress = min(1.0, loaded / total) if total else None
        return cls(loaded=loaded, total=total, progress=progress, bytes=step, upload=upload,
                   download=download)

    def __getitem__(self, name: str):
        return getattr(self, name)
