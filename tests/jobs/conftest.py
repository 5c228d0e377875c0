"""Batch jobs over a REAL Celery worker (in this process, on the test's private Redis as broker),
the real model, and a real loopback webhook receiver."""

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.api.conftest import api_key_for  # noqa: F401  (the fixture, shared)

FINAL = {"done", "partial", "failed", "cancelled"}


def png(seed: int, size=(40, 32)) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def uploads(count: int) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"p{i}.png", png(i), content_type="image/png") for i in range(count)]


@pytest.fixture(scope="session")
def broker_reachable():
    """The batch tests run on the configured broker: Redis (the test's own), or RabbitMQ when
    CELERY_BROKER_URL is amqp:// (`make test` runs them once more that way). A RabbitMQ that does not
    answer skips them with a message naming it, never a silent pass."""
    from django.conf import settings
    from kombu import Connection

    url = settings.CELERY_BROKER_URL
    if url.startswith("redis"):
        yield url
        return
    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: no RabbitMQ here
        shown = Connection(url).as_uri()  # the password masked
        pytest.skip(f"RabbitMQ is not reachable at {shown} ({exc}): start rabbitmq-server to run the batch "
                    "tests on it")
    yield url
    with Connection(url, connect_timeout=3) as connection:  # the run's own queue (make test-rabbitmq)
        if settings.CELERY_TASK_DEFAULT_QUEUE != "cutout":
            try:
                connection.default_channel.queue_delete(settings.CELERY_TASK_DEFAULT_QUEUE)
            except Exception:  # noqa: BLE001 - never declared
                pass


@pytest.fixture(autouse=True)
def broker_queue_empty(broker_reachable):
    """Redis is flushed between tests; a RabbitMQ queue is purged, so no test's leftover task reaches
    the next test's worker."""
    if broker_reachable.startswith("redis"):
        return
    from django.conf import settings

    from config.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        try:
            channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
        except Exception:  # noqa: BLE001 - not declared yet: nothing to purge
            pass


@pytest.fixture(autouse=True)
def jobs_settings(settings, tmp_path):
    """Free plan: 5 credits; files under the test's own MEDIA_ROOT; loopback webhooks; short backoff."""
    from billing.plans import packs_parse, plans_parse

    settings.BILLING_PLANS = plans_parse(
        json.dumps([{"slug": "free", "label": "Free", "credits": 5, "rate_limit": "100/minute"}]), environ={})
    settings.BILLING_PACKS = packs_parse("", environ={})
    settings.BILLING_FREE_PLAN = "free"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = settings.STORAGES | {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "media")}}}
    settings.JOBS_CALLBACK_HTTP_HOSTS = ["127.0.0.1"]
    settings.JOBS_WEBHOOK_BACKOFF = 0.2
    settings.JOBS_WEBHOOK_TIMEOUT = 2
    return settings


def worker_running(settings):
    """One Celery worker (solo pool) in a thread of this process, consuming the real broker."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL
    return start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                        shutdown_timeout=20)


@pytest.fixture
def worker(redis_client, transactional_db, jobs_settings):
    with worker_running(jobs_settings) as running:
        yield running


class Receiver:
    """A loopback HTTP server that answers `fail_first` requests with 503, then 200; records all."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict, bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 503 if len(receiver.requests) < receiver.fail_first else 200
                receiver.requests.append((dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.requests) >= count, f"{len(self.requests)} webhook requests, expected {count}"


@pytest.fixture
def receiver():
    made = []

    def make(fail_first: int = 0) -> Receiver:
        made.append(Receiver(fail_first))
        return made[-1]

    yield make
    for one in made:
        one.server.shutdown()
        one.server.server_close()


def submit(client, key: str, files, **fields):
    return client.post("/api/jobs", {"image": files, **fields}, headers={"x-api-key": key})


def wait_final(client, key: str, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers={"x-api-key": key}).json()
        if job["status"] in FINAL and not any(item["status"] == "running" for item in job["items"]):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not final after {timeout}s: {job}")


@pytest.fixture
def worker_elsewhere(redis_client):
    """A worker that is alive (its heartbeat is recent) but takes nothing in this test, so that
    POST /api/jobs accepts and the items stay queued."""
    from core.worker_heartbeat import heartbeat_beat

    heartbeat_beat(name="elsewhere@test")
