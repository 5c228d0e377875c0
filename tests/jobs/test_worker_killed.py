"""A worker process SIGKILLed in the middle of an item: the task is re-delivered (acks_late +
reject_on_worker_lost), the item runs again and is charged exactly once (its idempotency key).

A real `celery -A config worker` subprocess (prefork, one child) on the test's Redis and a SQLite
file shared with this test, as in tests/production."""

import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

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
    deployment.env |= {"CELERY_BROKER_URL": settings.REDIS_URL, "PIPELINE_WORKERS": "1"}
    deployment.manage("migrate", "--noinput", "-v", "0")
    return deployment


@pytest.fixture
def celery_worker_process(deployment, tmp_path):
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
                             "--concurrency", "1", "--loglevel", "INFO", "--without-mingle", "--without-gossip"],
                            cwd=ROOT, env=deployment.env, stdout=log, stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
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
