"""config.startup: the model warms on a thread begun before Django imports; process_start waits for it."""

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from config.startup import WarmUp, process_start
from removal import segment
from removal.errors import UnknownModel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _unfrozen():
    """process_start freezes the collector's objects (config.startup.gc_freeze): not for other tests."""
    yield
    gc.unfreeze()


def test_process_start_waits_for_the_warm_up_begun_before_it(monkeypatch, settings):
    settings.WARM_UP = True
    monkeypatch.setattr(segment, "_sessions", {})
    warming = WarmUp(segment.DEFAULT_MODEL)
    process_start(warming)
    assert not warming._thread.is_alive() and warming.seconds > 0
    assert segment.DEFAULT_MODEL in segment._sessions


def test_a_failed_warm_up_stops_the_start_with_its_own_error(settings):
    settings.WARM_UP = True
    settings.REMBG_MODEL = "no-such-model"
    with pytest.raises(UnknownModel):
        process_start(WarmUp("no-such-model"))


NOTHING_LEFT = """
import sys
from removal.pipeline import warm_up, warm_up_imports
warm_up_imports("u2netp")
before = set(sys.modules)
warm_up("u2netp")
print(sorted(set(sys.modules) - before))
"""


def test_the_warm_up_thread_imports_nothing_the_main_thread_has_not():
    """config.startup runs warm_up on a thread while the main thread imports Django: whatever the
    thread imported itself could deadlock against it in importlib (removal.jit.solver_importing)."""
    done = subprocess.run([sys.executable, "-c", NOTHING_LEFT], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_what_start_up_made_is_out_of_the_collectors_reach(settings):
    """The full collection before a large image (removal.pipeline._memory_reclaim) walks only what
    was made since start-up."""
    settings.WARM_UP = False
    gc.unfreeze()  # whatever an earlier test froze
    process_start()
    assert gc.get_freeze_count() > 10_000
