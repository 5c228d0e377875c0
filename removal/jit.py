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

import os
import sys
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


def jit_compile() -> Path:
    """Compile (or load) pymatting's numba functions into the cache; returns the cache directory."""
    path = jit_cache_configure()
    path.mkdir(parents=True, exist_ok=True)
    import pymatting  # noqa: F401 - eager signatures: the import is the compilation

    return path

