"""Where the pipeline's files live, decided in one place (removal/ imports no Django: settings, /healthz,
provisioning, the quantizer and the model loader all ask here)."""

import os
from pathlib import Path

_REPOSITORY_VAR = Path(__file__).resolve().parent.parent / "var"


def model_home() -> Path:
    """Where model files live: $U2NET_HOME, else models/ under CUTOUT_VAR_DIR (default: the
    repository's var/)."""
    var = Path(os.environ.get("CUTOUT_VAR_DIR") or _REPOSITORY_VAR)
    return Path(os.environ.get("U2NET_HOME") or var / "models")


INT8_MODEL = "u2netp"  # the one model quantized (removal/quantize.py): the others run in float32
INT8_VERSION = 2  # part of the file name: a change of recipe builds a new file
INT8_STEM = f"{INT8_MODEL}-int8-v{INT8_VERSION}"


def int8_paths(home: Path) -> tuple[Path, Path]:
    """The quantized model's OpenVINO IR: its graph (.xml) and its weights (.bin)."""
    return home / f"{INT8_STEM}.xml", home / f"{INT8_STEM}.bin"


def int8_built(home: Path) -> bool:
    return all(path.is_file() for path in int8_paths(home))
