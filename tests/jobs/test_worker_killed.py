"""A worker process SIGKILLed in the middle of an item: the task is re-delivered (acks_late +
reject_on_worker_lost), the item runs again and is charged exactly once (its idempotency key).

A real `celery -A config worker` subprocess (prefork, one child) on the test's Redis and a SQLite
file shared with this test, as in tests/production."""

import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.live import poll_until, process_stop
from tests.production.conftest import ROOT, Deployment


def _big_png(path) -> None:
    # Noise is slow to decode and to encode as WEBP: a window of a second or more in which the item
    # is running (PNG output went through fpng, fast enough to finish before the kill).
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (2400, 2400, 3), dtype=np.uint8)).save(path, "PNG", compress_level=1)


def _poll(db, sql: str, until, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(db, timeout=5) as connection:
            rows = connection.execute(sql).fetchall()
        if until(rows):
            return rows
        time.sleep(0.01)
    raise AssertionError(f"timed out: {sql} -> {rows}")


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


@pytest.fixture
def deployment(tmp_path, redis_client, settings):
    deployment = Deployment(tmp_path, settings.REDIS_URL)
    deployment.env |= {"CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "PIPELINE_WORKERS": "1"}
    deployment.manage("migrate", "--noinput", "-v", "0")
    return deployment


@pytest.fixture
def celery_worker_process(deployment, tmp_path):
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
                             "--concurrency", "1", "--loglevel", "INFO", "--without-mingle", "--without-gossip"],
                            cwd=ROOT, env=deployment.env, stdout=log, stderr=subprocess.STDOUT)
    yield proc
    process_stop(proc)
    log.close()


def test_it_reruns_an_item_whose_worker_was_killed_and_charges_it_once(deployment, celery_worker_process, tmp_path,
                                                                        redis_client):
    user_id, _key = deployment.user_create("alice@example.com")
    image = tmp_path / "big.png"
    _big_png(image)
    job_id = deployment.manage("shell", "-v", "0", "-c", (
        "from django.contrib.auth import get_user_model\n"
        "from accounts.services import Caller\n"
        "from jobs.services import job_submit\n"
        f"user = get_user_model().objects.get(pk={user_id})\n"
        f"data = open({str(image)!r}, 'rb').read()\n"
        "job = job_submit(caller=Caller(user=user, source='api', ip='127.0.0.1'), files=[('big.png', data)],"
        " fields={'format': 'webp'})\n"
        "print(job.pk)\n")).strip()
    db = tmp_path / "cutout.sqlite3"
    _poll(db, "SELECT status, attempts FROM jobs_item", lambda rows: rows == [("running", 1)])
    assert _poll(db, "SELECT status FROM jobs_job", bool) == [("running",)]
    [child] = _children(celery_worker_process.pid)
    subprocess.run(["kill", "-KILL", str(child)], check=True)

    rows = _poll(db, "SELECT status, attempts FROM jobs_item", lambda rows: rows[0][0] in ("done", "failed"))
    assert rows == [("done", 2)], (tmp_path / "worker.log").read_text()[-3000:]
    final = _poll(db, f"SELECT status FROM jobs_job WHERE id = '{job_id}'", lambda rows: rows[0][0] != "running")
    assert final == [("done",)]
    charges = _poll(db, f"SELECT state FROM billing_ledgerentry WHERE user_id = {user_id} AND kind = 'charge'", bool)
    assert charges == [("committed",)]
    now = datetime.now(UTC)
    assert int(redis_client.get(f"user:{user_id}:api_usage:{now.year}:{now.month}")) == 1


# --- the whole worker SIGKILLed under scripts/with_worker.py (`make run`), default settings ---------


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _worker_main(supervisor: subprocess.Popen, timeout: float = 60) -> int:
    """The pid of the celery worker's main process under the supervisor, once its heartbeat is in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [pid for pid in _children(supervisor.pid) if "celery" in _cmdline(pid)]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("no worker under the supervisor")




@pytest.fixture
def supervised(deployment, tmp_path):
    """scripts/with_worker.py as `make run` starts it, a long sleep standing in for the web server,
    and CELERY_VISIBILITY_TIMEOUT left at its default."""
    deployment.env.pop("CELERY_VISIBILITY_TIMEOUT", None)
    made = []

    def start(**env: str) -> tuple[subprocess.Popen, Path]:
        log_path = tmp_path / f"supervisor-{len(made)}.log"
        log = open(log_path, "w")  # noqa: SIM115 - closed at teardown
        proc = subprocess.Popen([sys.executable, "scripts/with_worker.py", "--", sys.executable, "-c",
                                 "import time; time.sleep(900)"],
                                cwd=ROOT, env=deployment.env | env, stdout=log, stderr=subprocess.STDOUT)
        made.append((proc, log))
        return proc, log_path

    yield start
    for proc, log in made:
        process_stop(proc, timeout=60)
        log.close()


def _alive(redis_client) -> list[bytes]:
    from core.worker_heartbeat import KEY, STALE_AFTER

    return redis_client.zrangebyscore(KEY, time.time() - STALE_AFTER, "+inf")


def test_a_killed_worker_is_restarted_and_its_item_rerun_and_charged_once_well_within_the_timeout(
        deployment, supervised, tmp_path, redis_client, settings):
    assert settings.CELERY_VISIBILITY_TIMEOUT == 600  # the default (Redis): the item must not wait for it
    supervisor, log = supervised()
    user_id, _key = deployment.user_create("carol@example.com")
    image = tmp_path / "big.png"
    _big_png(image)
    poll_until(lambda: _alive(redis_client), "the worker's heartbeat")
    first = _worker_main(supervisor)
    deployment.manage("shell", "-v", "0", "-c", (
        "from django.contrib.auth import get_user_model\n"
        "from accounts.services import Caller\n"
        "from jobs.services import job_submit\n"
        f"user = get_user_model().objects.get(pk={user_id})\n"
        f"data = open({str(image)!r}, 'rb').read()\n"
        "job_submit(caller=Caller(user=user, source='api', ip='127.0.0.1'), files=[('big.png', data)],"
        " fields={'format': 'webp'})\n"))
    db = tmp_path / "cutout.sqlite3"
    _poll(db, "SELECT status, attempts FROM jobs_item", lambda rows: rows == [("running", 1)])
    killed_at = time.monotonic()
    subprocess.run(["kill", "-KILL", str(first)], check=True)

    rows = _poll(db, "SELECT status, attempts FROM jobs_item", lambda rows: rows[0][0] in ("done", "failed"),
                 timeout=300)
    took = time.monotonic() - killed_at
    text = log.read_text()
    assert rows == [("done", 2)], text[-3000:]
    assert took < settings.CELERY_VISIBILITY_TIMEOUT  # taken back at the restart, not by the timeout
    assert "with_worker: the worker exited (signal SIGKILL); restart 1/5 in 1 s" in text
    if settings.CELERY_BROKER_URL.startswith("redis"):  # RabbitMQ re-delivers a dead connection's messages itself
        assert "restored 1 task(s) left unacknowledged by a worker that died" in text
    assert _worker_main(supervisor) != first
    charges = _poll(db, f"SELECT state FROM billing_ledgerentry WHERE user_id = {user_id} AND kind = 'charge'", bool)
    assert charges == [("committed",)]
    now = datetime.now(UTC)
    assert int(redis_client.get(f"user:{user_id}:api_usage:{now.year}:{now.month}")) == 1


def test_the_supervisor_gives_up_loudly_after_its_restarts_and_the_server_goes_on(supervised, redis_client):
    supervisor, log = supervised(WORKER_MAX_RESTARTS="1", WORKER_RESTART_BACKOFF="0.1")
    for _death in range(2):
        poll_until(lambda: _alive(redis_client), "the worker's heartbeat")
        worker = _worker_main(supervisor)
        redis_client.delete("cutout:workers:heartbeat")  # so the next wait sees the restarted one
        subprocess.run(["kill", "-KILL", str(worker)], check=True)
        poll_until(lambda worker=worker: not Path(f"/proc/{worker}").exists() or "celery" not in _cmdline(worker),
                  "the worker's death")
    poll_until(lambda: "giving up" in log.read_text(), "the supervisor to give up")
    text = log.read_text()
    assert "with_worker: the worker exited (signal SIGKILL); restart 1/1 in 0.1 s" in text
    assert ("with_worker: error: the worker exited (signal SIGKILL) after 1 restarts in a row; giving up: "
            "batch jobs are refused (503) until `make run` is restarted") in text
    assert supervisor.poll() is None  # the web server still runs
    assert not [pid for pid in _children(supervisor.pid) if "celery" in _cmdline(pid)]
