"""Warm `make run` until /healthz says ok with the worker alive: this tree, and another one as the baseline.

    .venv/bin/python bench/warm_start.py [--rounds 6] [--base ../wt/perf28-base]

Each round starts `make run PORT=<free port>` in its own process group (nothing changed since the
last run: the model, the migrations and the static files are provisioned, so make only checks its
stamps), polls GET /healthz every 20 ms until it answers "worker": "ok", and stops the group. A
first, unmeasured round in each tree makes sure it is warm. The trees alternate, round by round.
Issue 28's target: ≤ 3 s. `--base` needs a tree that ran `make run` once (its venv and var/ in place).
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]  # bench/http.py ≠ stdlib http
ROOT = _HERE.parent

import urllib.request  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return False
    # A tree from before the worker's heartbeat (issue 28's base) has no "worker": its worker is
    # then not waited for, which only flatters the baseline.
    return body.get("status") == "ok" and body.get("worker", "ok") == "ok"


def warm_start(tree: Path, timeout: float = 120) -> float:
    """Seconds from `make run` to /healthz ok with the worker alive."""
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}"], cwd=tree,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while not _ready(port):
            if process.poll() is not None:
                raise SystemExit(f"make run in {tree} exited with {process.returncode}")
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"make run in {tree} not ready in {timeout} s")
            time.sleep(0.02)
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        time.sleep(1)  # the worker's warm shutdown and the port


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--base", type=Path, help="another tree, measured the same way as the baseline")
    args = parser.parse_args()
    trees = {"this": ROOT, **({"base": args.base.resolve()} if args.base else {})}
    print(f"load average at start: {_load()}; rounds: {args.rounds}")
    for tree in trees.values():
        warm_start(tree)  # unmeasured: provisioning checks, first compile of anything stale
    times: dict[str, list[float]] = {label: [] for label in trees}
    for round_ in range(1, args.rounds + 1):
        for label, tree in trees.items():
            seconds = warm_start(tree)
            times[label].append(seconds)
            print(f"  round {round_} {label:5s} {seconds:5.2f} s  load {_load()}", flush=True)
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:5s} median {median:.2f} s, min {min(values):.2f}, max {max(values):.2f}")
    median = statistics.median(times["this"])
    verdict = "met" if median <= 3.0 else "MISSED"
    print(f"this tree: median {median:.2f} s, {verdict} (target ≤ 3 s)")
    if "base" in times:
        print(f"ratio this/base: {median / statistics.median(times['base']):.2f}x")
    print(f"load average at end: {_load()}")


if __name__ == "__main__":
    main()
