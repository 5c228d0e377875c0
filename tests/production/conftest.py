"""Production fixtures: small generated images, a known catalogue, and real server processes
(`python -m config.serve`) sharing one SQLite file and the test's Redis."""

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
CREDITS = 6  # the free plan's monthly credits in this suite
PLANS = json.dumps([{"slug": "free", "label": "Free", "credits": CREDITS, "rate_limit": "1000/minute"}])


def png_bytes(seed: int = 7, size: tuple[int, int] = (64, 48)) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def production_plans(settings):
    from billing.plans import packs_parse, plans_parse

    settings.BILLING_PLANS = plans_parse(PLANS, environ={})
    settings.BILLING_PACKS = packs_parse("", environ={})
    settings.BILLING_FREE_PLAN = "free"
    return settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Deployment:
    """Environment shared by every process of one test deployment, and helpers to run them."""

    def __init__(self, workdir: Path, redis_url: str) -> None:
        from django.conf import settings

        self.workdir = workdir
        self.env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=f"sqlite:///{workdir / 'cutout.sqlite3'}",
            REDIS_URL=redis_url,
            SECRET_KEY=secrets.token_urlsafe(50),  # one key: a session made by A is valid on B
            CUTOUT_VAR_DIR=str(workdir / "var"),
            MEDIA_ROOT=str(workdir / "media"),  # one file store, as S3 would be
            U2NET_HOME=str(settings.U2NET_HOME),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DEBUG="false",
            STATIC_MANIFEST="false",
            BILLING_PLANS=PLANS,
            METRICS_TOKEN="metrics-secret",
            PIPELINE_WORKERS="1",
            ONNX_INTRA_OP_THREADS="1",  # two servers on a 2-core machine
            LOG_FORMAT="json",
        )
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.servers: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def user_create(self, email: str) -> tuple[int, str]:
        """A verified user with an API key, made by the project's own services. (id, key)"""
        code = (
            "from allauth.account.models import EmailAddress\n"
            "from django.contrib.auth import get_user_model\n"
            "from accounts.services import api_key_create\n"
            f"u = get_user_model().objects.create_user(username={email.split('@')[0]!r}, email={email!r}, "
            f"password={PASSWORD!r})\n"
            "EmailAddress.objects.create(user=u, email=u.email, primary=True, verified=True)\n"
            "print(u.pk, api_key_create(user=u, name='mp')[1])\n"
        )
        user_id, key = self.manage("shell", "-v", "0", "-c", code).split()
        return int(user_id), key

    def serve(self) -> str:
        """Start one server process (`python -m config.serve`); returns its base URL once healthy."""
        port = free_port()
        log = open(self.workdir / f"server-{port}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "config.serve", "--workers", "1", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        self.servers.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (self.workdir / f"server-{port}.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.servers:
            proc.terminate()
        for proc in self.servers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """Two server processes, one SQLite file (migrated), one Redis: the test run's REDIS_URL."""
    from django.conf import settings

    deployment = Deployment(tmp_path_factory.mktemp("deployment"), settings.REDIS_URL)
    deployment.manage("migrate", "--noinput", "-v", "0")
    try:
        deployment.urls = [deployment.serve(), deployment.serve()]
        yield deployment
    finally:
        deployment.stop()
