"""The editor websocket and the channel layer's Redis: idle sockets stay open, outages are quiet.

A real websocket client against uvicorn serving config.asgi, the channel layer on a redis-server
of the test's own (stopped and started again by the test), a short CHANNEL_LAYER_READ_TIMEOUT so
"several multiples of it" is a few seconds, and the server's log captured to assert that nothing
in it is a traceback or an error.
"""

import logging

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from editor.progress import user_group
from tests import live

from .conftest import logged_in, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

READ_TIMEOUT = 1  # seconds


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record) -> None:
        self.records.append(record)

    def noise(self) -> list[str]:
        """Tracebacks and errors: what an operator would be paged or annoyed by."""
        return [f"{r.name}: {r.getMessage()}" for r in self.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.fixture
def server_log():
    """The live server runs in this process: its Django, channels and uvicorn records land here
    (uvicorn's loggers do not propagate to the root)."""
    handler = Captured()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture
def layer_redis(tmp_path, settings):
    """The channel layer on a private redis-server, with the short read timeout."""
    with live.private_redis(tmp_path / "redis") as redis_server:
        config = settings.CHANNEL_LAYERS["default"]
        settings.CHANNEL_LAYERS = {"default": {**config, "CONFIG": {
            **config["CONFIG"], "hosts": [redis_server.url], "read_timeout": READ_TIMEOUT}}}
        yield redis_server


@pytest.fixture
def server(layer_redis):
    with live.asgi_server() as base_url:
        yield base_url


def _connect(base_url: str, user):
    url = base_url.replace("http://", "ws://") + "/ws/editor/"
    return connect(url, origin=base_url, additional_headers={"Cookie": session_cookie(logged_in(user))},
                   open_timeout=10)


def _relays(ws, user) -> bool:
    """The socket is alive end to end: an event sent to the user's group reaches it."""
    async_to_sync(get_channel_layer().group_send)(user_group(user.pk), {"type": "job.progress", "job": "j",
                                                                        "stage": "queued"})
    return ws.recv(timeout=10) == '{"job": "j", "stage": "queued"}'


def test_it_keeps_an_idle_socket_open_for_many_read_timeouts_without_log_noise(server, alice, server_log):
    with _connect(server, alice) as ws:
        with pytest.raises(TimeoutError):  # nothing to say, and the connection is not dropped
            ws.recv(timeout=6 * READ_TIMEOUT)
        assert _relays(ws, alice)

    assert server_log.noise() == []


def test_it_refuses_a_handshake_cleanly_while_redis_is_down_and_accepts_once_it_is_back(
        server, layer_redis, alice, server_log):
    layer_redis.stop()

    with pytest.raises(InvalidStatus) as refused:
        _connect(server, alice)

    assert refused.value.response.status_code == 403  # refused, not a 500
    assert server_log.noise() == []
    layer_redis.start()
    with _connect(server, alice) as ws:
        assert _relays(ws, alice)


def test_it_closes_an_open_socket_cleanly_when_redis_goes_away(server, layer_redis, alice, server_log):
    with _connect(server, alice) as ws:
        layer_redis.stop()
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10 * READ_TIMEOUT)
        assert ws.close_code == 1013  # try again later: the page reconnects

    assert server_log.noise() == []


@pytest.mark.browser
def test_the_page_says_live_progress_is_unavailable_and_keeps_working_over_http(
        server, layer_redis, alice, chromium, tmp_path, server_log):
    import re

    from django.conf import settings
    from playwright.sync_api import expect

    from .conftest import fund, photo_bytes

    fund(alice)
    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes(photo_bytes(320))
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    session = logged_in(alice).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": server}])
    page = context.new_page()
    layer_redis.stop()

    page.goto(f"{server}/editor/")
    notice = page.get_by_test_id("socket-notice")
    expect(notice).to_be_visible()
    expect(notice).to_have_text(re.compile("live progress unavailable, retrying", re.IGNORECASE))
    page.set_input_files("#file-input", str(photo))  # starts on its own
    expect(page.get_by_test_id("stage")).to_have_text("Done", timeout=120_000)  # the HTTP answer
    live.screenshot(page, "editor-live-progress-unavailable.png")

    layer_redis.start()
    expect(notice).to_be_hidden(timeout=20_000)  # the back-off retry got through
    expect(page.get_by_test_id("editor")).to_have_attribute("data-socket", "open")
    context.close()
    assert server_log.noise() == []
