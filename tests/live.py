"""What tests need to drive the app for real: a free port, uvicorn in a thread, Debian's Chromium."""

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.test import override_settings

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"  # screenshots; ignored by git
CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright never downloads a browser here
# Headless as root, and nothing that would try to reach the (closed) network in the background.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def process_stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL when it has not exited after `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def poll_until(check, what: str, timeout: float = 60, interval: float = 0.1):
    """`check()`'s first truthy value, polled until `timeout`; AssertionError naming `what` after it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def asgi_server(*, websockets: bool = True) -> Iterator[str]:
    """uvicorn serving config.asgi in a daemon thread of this process (so it sees the test database;
    pytest-django's live_server is WSGI and has no websockets). Yields the base URL."""
    import uvicorn

    from config.asgi import application

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        application, host="127.0.0.1", port=port, ws="websockets" if websockets else "none",
        lifespan="off", log_level="warning", access_log=False,
    ))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    base_url = f"http://127.0.0.1:{port}"
    try:
        # Pages it serves open the editor's websocket from this origin.
        with override_settings(WEBSOCKET_ALLOWED_ORIGINS=[*settings.WEBSOCKET_ALLOWED_ORIGINS, base_url]):
            yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium_browser():
    """A headless Chromium through Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' ORM calls are sync.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_serious(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each (rule, impact, elements).

    axe-core comes inside the `axe-playwright-python` package (axe.min.js), so this runs offline.
    """
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + ", ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ]


def wait_until(page, expression: str, *, timeout: float = 30) -> None:
    """Poll a JS expression until it is truthy. Not page.wait_for_function: once its first check is
    false, Playwright polls through eval, which our CSP (no 'unsafe-eval') refuses: a flaky error."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


class PrivateRedis:
    """A redis-server of the test's own on a fixed free port, which the test may stop and start again
    (never the shared one). The binary is found as scripts/with_redis.py finds it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port, self.proc = workdir, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import subprocess

        import redis

        from scripts.with_redis import _redis_binary

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [_redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")])
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=1).ping():
                    return
            except redis.RedisError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"private redis-server did not start (see {self.workdir})") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
