"""numba's compiled code for pymatting (the matting solver behind refine=matting), cached in var/.

pymatting declares its numba functions with eager signatures and `cache=True`: importing it
compiles all ~40 of them (a minute of CPU, several on a busy machine) unless numba finds them in
its cache. That cost used to land on the first refine=matting request, whose 3 s budget it spent
(issue 29). Now `make model` (removal.provision) compiles them into NUMBA_CACHE_DIR, default
var/numba, and every server and worker process loads them at start (WARM_UP): seconds, off the
request path.

numba keys what it caches by the source file's modification time and size (an upgraded pymatting
recompiles), the numba and Python versions, the function's bytecode, and the CPU's name and
features (another CPU recompiles), so one directory is safe across upgrades and machines. Its
default place, __pycache__ inside site-packages, is lost with the venv and may be read-only in a
container: hence ours.
"""

import hashlib
import os
import platform
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / "var" / "numba"


def jit_cache_dir() -> Path:
    """NUMBA_CACHE_DIR, else var/numba in the repository."""
    return Path(os.environ.get("NUMBA_CACHE_DIR", "").strip() or DEFAULT_CACHE_DIR)


def jit_cache_configure() -> Path:
    """Point numba's cache at jit_cache_dir() before pymatting (or rembg, which imports it) is
    imported: pymatting compiles, or loads from the cache, at import time."""
    path = jit_cache_dir()
    if os.environ.get("NUMBA_CACHE_DIR") != str(path):
        os.environ["NUMBA_CACHE_DIR"] = str(path)
        if "numba" in sys.modules:  # numba reads its environment once, at import
            from numba.core import config

            config.reload_config()
    return path


_import_lock = threading.Lock()


@contextmanager
def solver_importing() -> Iterator[None]:
    """Around every import of pymatting, and of rembg (which imports pymatting's submodules by
    another path): numba's cache configured first, and one thread at a time. Two threads importing
    the package by the two paths at once deadlock in importlib — Python raises _DeadlockError in one
    and KeyError('pymatting') in the other: the solver's warm-up thread at a process's start beside
    a request's first non-default model did (tests/removal/test_jit.py). Uncontended once imported."""
    with _import_lock:
        jit_cache_configure()
        yield


def jit_compile() -> Path:
    """Compile (or load) pymatting's numba functions into the cache; returns the cache directory."""
    path = jit_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    with solver_importing():
        import pymatting  # noqa: F401 - eager signatures: the import is the compilation

    return path



def _cpu_name() -> str:
    """The CPU's model name and feature flags (numba's cache is per CPU): /proc/cpuinfo on Linux."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    wanted = [line for line in lines if line.startswith(("model name", "flags"))]
    return "\n".join(sorted(set(wanted)))


def jit_cache_key() -> str:
    """What numba's cached code depends on, without importing numba or pymatting (which costs a
    second even when the cache is warm): their versions, pymatting's files (path, size, mtime),
    Python's version and the CPU."""
    parts = [sys.version, _cpu_name()]
    for name in ("numba", "llvmlite", "pymatting"):
        parts.append(f"{name}=={metadata.version(name)}")
    for file in sorted(metadata.files("pymatting") or [], key=str):
        located = Path(str(file.locate()))
        if located.suffix == ".py" and located.exists():
            stat = located.stat()
            parts.append(f"{located}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def jit_provision() -> tuple[Path, bool]:
    """Compile the solver into the cache unless this exact set-up already did (a marker file named
    by jit_cache_key()). Returns (cache directory, compiled now)."""
    path = jit_cache_dir()
    marker = path / f"compiled-{jit_cache_key()}"
    if marker.exists():
        return path, False
    jit_compile()
    for stale in path.glob("compiled-*"):
        stale.unlink(missing_ok=True)
    marker.touch()
    return path, True
