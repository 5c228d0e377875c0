"""Time a first `make run` on a fresh clone, phase by phase, then a second (warm) one.

    python3 bench/first_run.py [--repo PATH] [--rev REV] [--cold-cache] [--make-args 'UV='] [--timeout 900]

Clones the committed HEAD of --repo (default: this checkout) into a temporary directory and runs
`make run` there on a free port with a private Redis (REDIS_URL points at a closed port, so
scripts/with_redis.py starts its own). Every recipe line that make echoes is timestamped; the
line tells which phase starts (venv, install, model, migrate, collectstatic, server). The clock
stops when /healthz answers 200. Then `make run` runs again in the same clone (nothing left to
set up) and is timed the same way. --cold-cache gives pip and uv empty cache directories, as on
a new machine. Absolute seconds on a shared machine: the load average is printed beside them.
"""

import argparse
import os
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (phase, pattern on an echoed recipe line); the first pattern that matches names the phase.
PHASES = [
    ("venv", r"-m venv|uv venv"),
    ("pip upgrade", r"--upgrade pip"),
    ("uv bootstrap", r"install[^\n]*'uv[>=<]"),
    ("install", r"pip install|uv pip (install|sync)"),
    ("model", r"removal\.provision"),
    ("migrate", r"manage\.py migrate"),
    ("collectstatic", r"collectstatic"),
    ("server start", r"uvicorn"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(port: int) -> bool:
    # A raw request: urllib would import `http`, which bench/http.py shadows when run from here.
    request = b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(request)
            return sock.recv(64).startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
    except OSError:
        return False


def _phase_of(line: str) -> str | None:
    if re.match(r"[A-Z]+:", line):  # a tool's WARNING:/INFO: line, not a recipe make echoed
        return None
    return next((name for name, pattern in PHASES if re.search(pattern, line)), None)


def _read_output(proc: subprocess.Popen, start: float, marks: list, log) -> None:
    for line in proc.stdout:
        log.write(line)
        phase = _phase_of(line)
        if phase and (not marks or marks[-1][0] != phase):
            marks.append((phase, time.monotonic() - start))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def make_run_timed(clone: Path, env: dict, make_args: list[str], timeout: float) -> tuple[list, float, float]:
    """Run `make run` until /healthz answers; return [(phase, start s)], the total seconds and the
    CPU seconds of the process tree (less sensitive than wall time to a loaded machine; a server
    that outlives make's exit by a moment is not counted, so it is mostly the set-up steps)."""
    port = _free_port()
    cpu = _children_cpu()
    start = time.monotonic()
    marks: list = []
    with open(clone / "var-first-run.log", "a") as log:
        proc = subprocess.Popen(
            ["make", "run", f"PORT={port}", *make_args], cwd=clone, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        reader = threading.Thread(target=_read_output, args=(proc, start, marks, log), daemon=True)
        reader.start()
        try:
            while not _healthy(port):
                if proc.poll() is not None or time.monotonic() - start > timeout:
                    raise SystemExit(f"make run ended or timed out; see {clone / 'var-first-run.log'}")
                time.sleep(0.2)
            total = time.monotonic() - start
        finally:
            os.killpg(proc.pid, signal.SIGINT)  # our own process group: make, uvicorn, redis
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            reader.join(timeout=5)
    return marks, total, _children_cpu() - cpu


def table_print(title: str, marks: list, total: float, cpu: float) -> None:
    print(f"\n{title}: /healthz 200 after {total:.1f} s, {cpu:.1f} CPU s "
          f"(load average {os.getloadavg()[0]:.2f})")
    ends = [t for _, t in marks[1:]] + [total]
    first = marks[0][1] if marks else total
    print(f"  {'make, before any recipe':<24} {first:7.1f} s")
    for (phase, began), ended in zip(marks, ends, strict=True):
        label = "server → /healthz 200" if phase == "server start" else phase
        print(f"  {label:<24} {ended - began:7.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=str(ROOT))
    parser.add_argument("--rev", default="HEAD", help="commit to clone, e.g. main for a before/after")
    parser.add_argument("--cold-cache", action="store_true", help="empty pip and uv caches")
    parser.add_argument("--cache", help="pip and uv cache directory to use (kept between runs)")
    parser.add_argument("--make-args", default="", help="extra make arguments, e.g. 'UV='")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the clone and print its path")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cutout-first-run-"))
    clone = tmp / "cutout"
    subprocess.run(["git", "clone", "--quiet", args.repo, str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", args.rev], check=True)
    env = os.environ | {"REDIS_URL": "redis://127.0.0.1:1/0"}
    cache = Path(args.cache) if args.cache else tmp if args.cold_cache else None
    if cache:
        env |= {"PIP_CACHE_DIR": str(cache / "pip-cache"), "UV_CACHE_DIR": str(cache / "uv-cache")}
    print(f"clone of {args.repo} at {subprocess.getoutput(f'git -C {clone} rev-parse --short HEAD')}"
          f", load average {os.getloadavg()[0]:.2f}, cold cache: {args.cold_cache}")
    make_args = shlex.split(args.make_args)
    table_print("first make run", *make_run_timed(clone, env, make_args, args.timeout))
    table_print("second make run", *make_run_timed(clone, env, make_args, args.timeout))
    if args.keep:
        print(f"clone kept at {clone}")
    else:
        subprocess.run(["rm", "-rf", str(tmp)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
