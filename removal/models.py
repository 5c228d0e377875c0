"""Which models this server can run: the files present in U2NET_HOME that rembg has a session for."""

from dataclasses import dataclass

from removal.config import model_home
from removal.segment import DEFAULT_MODEL, models_installed


@dataclass(frozen=True)
class ModelInfo:
    name: str
    size: int  # bytes of the weights file
    default: bool


def models_list() -> list[ModelInfo]:
    """Installed models, sorted by name, with their file sizes."""
    home = model_home()
    return [
        ModelInfo(name=name, size=(home / f"{name}.onnx").stat().st_size, default=name == DEFAULT_MODEL)
        for name in models_installed()
    ]
