"""Run a command (the web server) with one Celery worker beside it, restart the worker when it dies,
and stop it with the server.

    python scripts/with_worker.py -- COMMAND...

`make run` uses it so one command serves the site and runs batch jobs. The worker is
`celery -A config worker --pool threads --concurrency 2` (CELERY_DEV_CONCURRENCY to change): one
process, one model, two items through the pipeline's stages side by side, as /rmbg overlaps its
requests (bench/batch.py: one item at a time leaves a core idle while an image is decoded or
encoded). It gets a warm shutdown (SIGTERM: the items in hand finish, or are re-delivered later
thanks to acks_late).

A worker that exits while the server runs (killed, crashed) is started again after a backoff of
WORKER_RESTART_BACKOFF seconds (default 1), doubled at each quick death up to 30 s; one log line per
restart. A worker that ran WORKER_STABLE_SECONDS (default 60) resets the count. After
WORKER_MAX_RESTARTS (default 5) quick deaths in a row it gives up with an "error:" line and the
server goes on without a worker: /healthz then says "worker": "none alive" and POST /api/jobs answers
503, while /rmbg and the editor keep working. The restarted worker takes back the item the dead one
held (jobs.worker), so that item is done again and charged once.
"""

import os
import signal
import subprocess
import sys
import time

POLL = 0.2  # seconds between two looks at the children


def worker_command() -> list[str]:
    concurrency = os.environ.get("CELERY_DEV_CONCURRENCY", "2")
    return [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
            "--pool", "threads", "--concurrency", concurrency, "--hostname", "dev@%h",
            "--without-mingle", "--without-gossip"]  # one worker: nobody to sync with (mingle waits 1 s)


def _say(message: str) -> None:
    print(f"with_worker: {message}", file=sys.stderr, flush=True)


def _stop(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


class Supervisor:
    """Keeps one worker running beside the server, within the restart budget."""

    def __init__(self, command: list[str], *, max_restarts: int, backoff: float, stable: float) -> None:
        self.command = command
        self.max_restarts = max_restarts
        self.backoff = backoff
        self.stable = stable
        self.quick_deaths = 0
        self.worker: subprocess.Popen | None = None
        self.started = 0.0
        self.restart_at: float | None = None
        self.stopping = False  # set by Ctrl+C / SIGTERM: the worker may exit first, that is no death

    def start(self) -> None:
        self.worker = subprocess.Popen(self.command)
        self.started = time.monotonic()
        self.restart_at = None

    def check(self) -> None:
        """Called every POLL seconds: notice a death, schedule or perform the restart."""
        now = time.monotonic()
        if self.stopping:
            return
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
            return
        if self.worker is None or self.worker.poll() is None:
            return
        code = self.worker.returncode
        self.worker = None
        if now - self.started >= self.stable:
            self.quick_deaths = 0
        if self.quick_deaths >= self.max_restarts:
            _say(f"error: the worker exited ({_exit_text(code)}) after {self.max_restarts} restarts "
                 "in a row; giving up: batch jobs are refused (503) until `make run` is restarted")
            return
        self.quick_deaths += 1
        wait = min(self.backoff * 2 ** (self.quick_deaths - 1), 30.0)
        _say(f"the worker exited ({_exit_text(code)}); restart {self.quick_deaths}/{self.max_restarts} "
             f"in {wait:g} s")
        self.restart_at = now + wait

    def stop(self) -> None:
        if self.worker is not None:
            _stop(self.worker)


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        sys.exit("usage: with_worker.py -- COMMAND...")
    supervisor = Supervisor(worker_command(),
                            max_restarts=int(os.environ.get("WORKER_MAX_RESTARTS", "5")),
                            backoff=float(os.environ.get("WORKER_RESTART_BACKOFF", "1")),
                            stable=float(os.environ.get("WORKER_STABLE_SECONDS", "60")))
    supervisor.start()
    try:
        server = subprocess.Popen(command)

        def forward(signum, _frame) -> None:
            supervisor.stopping = True
            server.send_signal(signum)

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, forward)
        while server.poll() is None:
            supervisor.check()
            time.sleep(POLL)
        return server.returncode
    finally:
        supervisor.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
