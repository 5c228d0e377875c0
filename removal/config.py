"""Where the pipeline's files live, decided in one place (removal/ imports no Django: settings, /healthz,
provisioning, the quantizer and the model loader all ask here)."""

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

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


# --- the pipeline's environment ------------------------------------------------------------------
# Every variable removal/ reads, typed, in one table. config/settings.py checks them all at start-up
# (env_check), so a typo is one error before anything listens; the pipeline reads them through
# env_read, never os.environ directly.


class ConfigError(ValueError):
    """A variable of the table below holds a value it cannot take."""


def _count(minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")
        return value
    return parse


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a number of at least 0, got {raw!r}")
    return value


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return value
    return parse


def _names(name: str, raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "PIPELINE_WORKERS": _count(0),  # 0: from the core count (removal.pool.pool_sizing)
    "ONNX_INTRA_OP_THREADS": _count(0),
    "PIPELINE_QUEUE_LIMIT": _count(0),  # 0: unbounded
    "PIPELINE_CPU_WORKERS": _count(0),
    "PIPELINE_MODEL_SLOTS": _count(0),
    "PIPELINE_PIXEL_BUDGET": _count(0),
    "PIPELINE_MMAP_THRESHOLD": _count(0),
    "MODEL_RUNTIME": _choice("openvino", "onnxruntime"),
    "MODEL_PRECISION": _choice("f32", "int8"),
    "ROTATE_RESAMPLE": _choice("bicubic", "bilinear"),
    "ONNX_PROVIDERS": _names,
    "MODEL_SESSIONS_MAX": _count(1),
    "REFINE_UNDECIDED_MAX": _number,
    "REFINE_BAND_MAX": _number,
    "REFINE_UNKNOWN_MAX": _number,
    "REFINE_AREA_MAX": _number,
    "REFINE_TIME_BUDGET": _number,
    "REFINE_PIXELS_MAX": _number,
}


def env_read(name: str, default: T) -> Any:
    """The variable `name` of the table, typed, or `default` when it is unset or blank."""
    raw = os.environ.get(name, "").strip()
    return default if not raw else _PARSERS[name](name, raw)


def env_check() -> None:
    """Read every variable of the table once: ConfigError naming each bad one (start-up)."""
    problems = []
    for name in _PARSERS:
        try:
            env_read(name, None)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems))
