"""Run a command (the web server) with one Celery worker beside it, and stop the worker with it.

    python scripts/with_worker.py -- COMMAND...

`make run` uses it so one command serves the site and runs batch jobs. The worker is
`celery -A config worker` with one process (CELERY_DEV_CONCURRENCY to change); it gets a warm
shutdown (SIGTERM: the item in hand finishes, or is re-delivered later thanks to acks_late).
"""

import os
import signal
import subprocess
import sys


def worker_command() -> list[str]:
    concurrency = os.environ.get("CELERY_DEV_CONCURRENCY", "1")
    return [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
            "--concurrency", concurrency, "--hostname", "dev@%h"]


def _stop(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        sys.exit("usage: with_worker.py -- COMMAND...")
    worker = subprocess.Popen(worker_command())
    try:
        server = subprocess.Popen(command)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _frame: server.send_signal(signum))
        return server.wait()
    finally:
        _stop(worker)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
