"""Where the pipeline's files live, decided in one place (removal/ imports no Django: settings, /healthz,
provisioning and the model loader all ask here)."""

import os
from pathlib import Path

_REPOSITORY_VAR = Path(__file__).resolve().parent.parent / "var"


def model_home() -> Path:
    """Where model files live: $U2NET_HOME, else models/ under CUTOUT_VAR_DIR (default: the
    repository's var/)."""
    var = Path(os.environ.get("CUTOUT_VAR_DIR") or _REPOSITORY_VAR)
    return Path(os.environ.get("U2NET_HOME") or var / "models")
