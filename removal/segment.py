"""The one module around rembg and onnxruntime.

One inference session per model per process, created lazily and exactly once (thread-safe),
shared by every worker of `removal.pool`. We never download weights at run time: a model is
usable only when its file is in U2NET_HOME (see `removal.provision`); otherwise a typed error.

For the U²-Net family (input 320×320) we reproduce rembg's pre- and post-processing (float32
instead of float64) and resize the 320×320 prediction straight to the size that will be
returned, instead of to the full image size and then again to the output size.
"""

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from removal.errors import ModelNotInstalled, ProviderUnavailable, UnknownModel
from removal.pool import pool_sizing

DEFAULT_MODEL = "u2netp"
DEFAULT_HOME = Path(__file__).resolve().parent.parent / "var" / "models"
# Models whose rembg `predict` is U²-Net's: ImageNet mean/std, 320×320 input, min-max output.
_U2NET_FAMILY = {"u2netp", "u2net", "u2net_human_seg", "silueta"}
_U2NET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_U2NET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_U2NET_SIDE = 320
# Other models get an image no larger than this before rembg's own predict.
_GENERIC_MAX_SIDE = 2048
# Box-reducing by an integer factor before LANCZOS (Pillow's `reducing_gap`) makes the 320×320
# input 4-6× cheaper (48 MP: 45 vs 300 ms) but the model is sensitive to that extra blur: on
# skimage's chelsea ×4..×12 the mask's IoU with rembg's fell to 0.985-0.989. The U²-Net input
# therefore uses plain LANCZOS, exactly as rembg does; only other models get the cheap path.
_REDUCING_GAP = 3.0

# From this many input pixels on, onnxruntime gives its activation arena (~200-250 MB for
# u2netp) back after the run, so it is not resident while the big image is encoded.
# Below, keeping it saves the re-allocation.
LARGE_IMAGE_PIXELS = 16_000_000

_sessions: dict[str, Any] = {}
_sessions_lock = threading.Lock()


def model_home() -> Path:
    """Where model files live: $U2NET_HOME, else var/models in the repository."""
    return Path(os.environ.get("U2NET_HOME") or DEFAULT_HOME)


def _session_classes() -> dict[str, type]:
    """rembg's local, credential-free session classes by model name (imports rembg: ~170 MB)."""
    from rembg.sessions import sessions

    return {
        name: cls
        for name, cls in sessions.items()
        if cls.is_local() and not cls.requires_credentials() and not name.endswith("custom")
    }


class U2netSession:
    """A bare onnxruntime session for the U²-Net family, whose pre/post-processing we own.

    Importing rembg pulls in scipy, scikit-image and pymatting (~170 MB of RSS per process)
    for code we do not call, so this family is loaded without it. `inner_session` mirrors
    rembg's attribute name.
    """

    def __init__(self, name: str, path: Path, options, providers: list[str]) -> None:
        import onnxruntime as ort

        self.model_name = name
        self.inner_session = ort.InferenceSession(str(path), sess_options=options, providers=providers)


def _model_file(name: str) -> Path:
    return model_home() / f"{name}.onnx"


def models_installed() -> list[str]:
    """Names of the models whose weights are present in model_home(), sorted."""
    home = model_home()
    present = {path.stem for path in home.glob("*.onnx")} if home.is_dir() else set()
    installed = present & _U2NET_FAMILY
    if present - _U2NET_FAMILY:  # only then is it worth importing rembg to know the others
        installed |= present & set(_session_classes())
    return sorted(installed)


def providers_configured() -> list[str]:
    """Execution providers from ONNX_PROVIDERS (comma-separated), CPU by default."""
    import onnxruntime as ort

    raw = os.environ.get("ONNX_PROVIDERS", "")
    wanted = [item.strip() for item in raw.split(",") if item.strip()] or ["CPUExecutionProvider"]
    available = ort.get_available_providers()
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ProviderUnavailable(
            f"ONNX_PROVIDERS asks for {', '.join(missing)}, which this onnxruntime build lacks "
            f"(available: {', '.join(available)})"
        )
    return wanted


def _session_options():
    import onnxruntime as ort

    sizing = pool_sizing()
    options = ort.SessionOptions()
    options.intra_op_num_threads = sizing.intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Idle onnxruntime threads would otherwise spin and steal the core Pillow is encoding on.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # A pre-planned block for all activations keeps ~190 MB more resident per process (545 vs
    # 352 MB after a few runs of u2netp) for ~5 % speed. The arena stays: without it every run
    # page-faults fresh memory and takes 2-4× longer.
    options.enable_mem_pattern = False
    return options


def _session_create(name: str):
    classes = None if name in _U2NET_FAMILY else _session_classes()
    if classes is not None and name not in classes:
        raise UnknownModel(f"Unknown model '{name}'. Known: {', '.join(sorted(classes))}")
    path = _model_file(name)
    if not path.is_file():
        raise ModelNotInstalled(
            f"Model '{name}' is not installed: {path} is missing. "
            f"Provision it (python -m removal.provision) or copy the file there; "
            f"models are never downloaded at run time."
        )
    if classes is None:
        return U2netSession(name, path, _session_options(), providers_configured())
    # rembg finds `$U2NET_HOME/<name>.onnx` through its legacy-home lookup; make sure it looks
    # where we just checked, so it cannot fall through to a download.
    os.environ["U2NET_HOME"] = str(path.parent)
    return classes[name](name, _session_options(), providers=providers_configured())


def sessions_max() -> int:
    """How many model sessions a process keeps loaded (MODEL_SESSIONS_MAX, default 3)."""
    return max(1, int(os.environ.get("MODEL_SESSIONS_MAX", "").strip() or 3))


def _sessions_touch(name: str, session) -> None:
    """Make `name` the most recently used; drop the least recently used beyond sessions_max().
    (A dict keeps insertion order; a dropped session lives on until its last run returns.)"""
    _sessions.pop(name, None)
    _sessions[name] = session
    while len(_sessions) > sessions_max():
        del _sessions[next(iter(_sessions))]


def session_get(name: str = DEFAULT_MODEL):
    """The process-wide rembg session for `name`, created on first use (thread-safe, LRU-bounded)."""
    with _sessions_lock:
        session = _sessions.get(name)
        if session is None:
            session = _session_create(name)
        _sessions_touch(name, session)
    return session


def warm_up(name: str = DEFAULT_MODEL) -> None:
    """Create the session and run one inference, so the first request pays neither cost."""
    mask_predict(Image.new("RGB", (64, 64), (128, 128, 128)), (64, 64), model=name)


def _u2net_input(image: Image.Image) -> np.ndarray:
    """rembg's BaseSession.normalize (same LANCZOS to 320×320), on float32."""
    small = image.resize((_U2NET_SIDE, _U2NET_SIDE), Image.Resampling.LANCZOS)
    if small.mode != "RGB":
        small = small.convert("RGB")
    array = np.asarray(small, dtype=np.float32)
    array /= max(float(array.max()), 1e-6)
    array = (array - _U2NET_MEAN) / _U2NET_STD
    return np.ascontiguousarray(array.transpose(2, 0, 1)[np.newaxis])


def _run_options(pixels: int):
    import onnxruntime as ort

    options = ort.RunOptions()
    if pixels >= LARGE_IMAGE_PIXELS:
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def _u2net_predict(session, image: Image.Image, size: tuple[int, int]) -> Image.Image:
    inner = session.inner_session
    feed = {inner.get_inputs()[0].name: _u2net_input(image)}
    (output, *_) = inner.run(None, feed, _run_options(image.width * image.height))
    pred = output[0, 0]
    low, high = float(pred.min()), float(pred.max())
    pred = (pred - low) / max(high - low, 1e-12)
    mask = Image.fromarray((pred.clip(0, 1) * 255).astype(np.uint8), mode="L")
    return mask.resize(size, Image.Resampling.LANCZOS)


def _generic_predict(session, image: Image.Image, size: tuple[int, int]) -> Image.Image:
    scale = _GENERIC_MAX_SIDE / max(image.size)
    if scale < 1:
        small_size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(small_size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    mask = session.predict(image.convert("RGB"))[0].convert("L")
    return mask if mask.size == size else mask.resize(size, Image.Resampling.LANCZOS)


def mask_predict(image: Image.Image, size: tuple[int, int], *, model: str = DEFAULT_MODEL) -> Image.Image:
    """The foreground mask (mode "L", white = foreground) of `image`, at `size`."""
    if image.mode == "RGBA":
        image = image.convert("RGB")  # like rembg: the model sees colours, not transparency
    session = session_get(model)
    if model in _U2NET_FAMILY:
        return _u2net_predict(session, image, size)
    return _generic_predict(session, image, size)
