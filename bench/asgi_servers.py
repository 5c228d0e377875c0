"""Which ASGI server should serve Cutout? uvicorn (baseline) vs daphne, same app, same run.

    (daphne comes with the test extra)
    python scripts/with_redis.py -- .venv/bin/python bench/asgi_servers.py [--requests 600]

Starts each server on a free port with config.asgi, sends the same GET /healthz load
(database + Redis + model check per request) at concurrency 8, and prints requests/s and the
ratio daphne / uvicorn.
"""

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(server: str, port: int) -> subprocess.Popen:
    bin_dir = Path(sys.executable).parent
    if server == "uvicorn":
        cmd = [str(bin_dir / "uvicorn"), "config.asgi:application", "--port", str(port),
               "--no-access-log", "--log-level", "warning"]
    else:
        cmd = [str(bin_dir / "daphne"), "-p", str(port), "-v", "0", "config.asgi:application"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{server} did not become ready")


async def load(port: int, total: int, concurrency: int) -> float:
    url = f"http://127.0.0.1:{port}/healthz"
    async with httpx.AsyncClient(timeout=10) as client:
        queue = iter(range(total))

        async def worker():
            for _ in queue:
                response = await client.get(url)
                assert response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    has_daphne = shutil.which("daphne", path=str(Path(sys.executable).parent)) is not None
    servers = ["uvicorn"] + (["daphne"] if has_daphne else [])
    rates: dict[str, list[float]] = {name: [] for name in servers}
    for _ in range(args.rounds):  # interleave rounds so drift on a noisy machine hits both
        for name in servers:
            port = free_port()
            proc = start(name, port)
            try:
                asyncio.run(load(port, 50, 8))  # warm-up
                rates[name].append(asyncio.run(load(port, args.requests, 8)))
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    for name, values in rates.items():
        print(f"{name:8s} median {statistics.median(values):7.1f} req/s  rounds {[round(v) for v in values]}")
    if "daphne" in rates:
        ratio = statistics.median(rates["daphne"]) / statistics.median(rates["uvicorn"])
        print(f"daphne / uvicorn throughput ratio: {ratio:.2f}")
    else:
        print("daphne not installed: pip install 'daphne>=4.2.2' to compare")


if __name__ == "__main__":
    main()
