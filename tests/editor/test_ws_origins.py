"""Only the site's own origins (scheme + host + port) may open the editor's websocket.

A real websocket client against uvicorn serving config.asgi, with a valid session cookie: a page
served from another port or scheme of the same host must not read a user's job events.
"""

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests import live

from .conftest import logged_in, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

FOREIGN = ["http://127.0.0.1:1", "http://localhost:9999", "https://127.0.0.1:8443", "https://evil.example",
           "null"]


@pytest.fixture
def server():
    with live.asgi_server() as base_url:
        yield base_url


def _handshake(base_url: str, *, origin: str | None, cookie: str) -> int:
    """The HTTP status of the websocket handshake: 101 when accepted."""
    url = base_url.replace("http://", "ws://") + "/ws/editor/"
    try:
        with connect(url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=10) as ws:
            return ws.response.status_code
    except InvalidStatus as exc:
        return exc.response.status_code


def test_it_accepts_the_sites_own_origin(server, alice):
    assert _handshake(server, origin=server, cookie=session_cookie(logged_in(alice))) == 101


@pytest.mark.parametrize("origin", FOREIGN)
def test_it_refuses_another_port_scheme_or_host(server, alice, origin):
    assert _handshake(server, origin=origin, cookie=session_cookie(logged_in(alice))) == 403


def test_it_refuses_another_port_of_the_live_server_host(server, alice):
    other_port = server.rsplit(":", 1)[0] + ":1"
    https_twin = server.replace("http://", "https://")
    cookie = session_cookie(logged_in(alice))
    assert _handshake(server, origin=other_port, cookie=cookie) == 403
    assert _handshake(server, origin=https_twin, cookie=cookie) == 403


def test_it_refuses_a_handshake_without_origin(server, alice):
    assert _handshake(server, origin=None, cookie=session_cookie(logged_in(alice))) == 403


def test_the_default_list_is_the_site_url_and_the_loopback_dev_origins():
    from config.settings import websocket_origins_default

    assert websocket_origins_default(site_url="https://cutout.example.com/", port=8000) == [
        "https://cutout.example.com", "http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"]
    assert websocket_origins_default(site_url="http://127.0.0.1:8000", port=8000) == [
        "http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"]
