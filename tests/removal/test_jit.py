"""removal.jit: provisioning leaves pymatting's numba code compiled in NUMBA_CACHE_DIR (var/numba),
and a new process loads it from there instead of compiling it (issue 29's cold start)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from removal.jit import jit_cache_dir, jit_cache_key, jit_compile

ROOT = Path(__file__).resolve().parents[2]
# In a fresh interpreter: numba's own counters say whether the solver's functions came from the cache.
PROBE = """
from removal.jit import jit_cache_configure
jit_cache_configure()
from pymatting.laplacian.cf_laplacian import _cf_laplacian
from pymatting.preconditioner.ichol import _ichol
for function in (_cf_laplacian, _ichol):
    stats = function.stats
    print(function.__name__, sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def test_provisioning_leaves_the_solver_compiled_in_the_cache_directory():
    path = jit_compile()  # what `make model` ran; cheap once compiled
    assert path == jit_cache_dir()
    assert list(path.glob("laplacian_*/cf_laplacian._cf_laplacian-*.nbi"))
    assert list(path.glob("preconditioner_*/ichol._ichol-*.nbi"))


def test_a_new_process_loads_the_solver_from_the_cache_instead_of_compiling_it():
    jit_compile()
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}  # the default: var/numba
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    counts = {name: (int(hits), int(misses)) for name, hits, misses in
              (line.split() for line in done.stdout.splitlines())}
    assert counts == {"_cf_laplacian": (1, 0), "_ichol": (1, 0)}, counts


MARKER_PROBE = """
import sys
from removal.jit import jit_provision
path, fresh = jit_provision()
print(fresh, "numba" in sys.modules, "pymatting" in sys.modules)
"""


def test_provisioning_again_trusts_its_marker_and_imports_nothing_heavy(tmp_path):
    """`make run` provisions on every start: with the solver already compiled for this exact set-up
    it must not import numba and pymatting (a second of a warm start, issue 28)."""
    cache = tmp_path / "numba"
    shutil.copytree(jit_cache_dir(), cache)  # compiled by `make model`: loading it is quick
    for marker in cache.glob("compiled-*"):
        marker.unlink()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}

    def provision() -> list[str]:
        done = subprocess.run([sys.executable, "-c", MARKER_PROBE], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert provision() == ["True", "True", "True"]  # no marker: the solver is compiled (or loaded)
    assert [marker.name for marker in cache.glob("compiled-*")] == [f"compiled-{jit_cache_key()}"]
    assert provision() == ["False", "False", "False"]


# The solver's warm-up thread (config.startup, at every start) imports pymatting while a request's
# first non-default model imports rembg, which imports pymatting's submodules by another path.
RACE = """
import sys, threading, time
from removal.refine import refine_warm_up
from removal.segment import _session_classes
errors = []
def warm():
    try:
        refine_warm_up()
    except BaseException as exc:
        errors.append(repr(exc))
thread = threading.Thread(target=warm)
thread.start()
time.sleep(float(sys.argv[1]))
try:
    _session_classes()
except BaseException as exc:
    errors.append(repr(exc))
thread.join()
print(errors)
"""


def test_the_solver_warming_up_beside_a_first_rembg_import_breaks_neither():
    """Both used to fail (importlib's _DeadlockError in one thread, KeyError('pymatting') in the
    other) when rembg's import began while the warm-up was inside pymatting's: 0.2-0.4 s in, here."""
    for delay in ("0.2", "0.3", "0.4"):
        done = subprocess.run([sys.executable, "-c", RACE, delay], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip().splitlines()[-1] == "[]", (delay, done.stdout[-2000:])
