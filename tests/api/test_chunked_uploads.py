"""Uploads sent with `Transfer-Encoding: chunked` (no Content-Length), over a real socket to uvicorn.

A valid image works whatever the framing; a body past the limit is refused with SPEC's size error
while it streams in (connection closed), and the server never spools more than the limit to disk.
The server runs in this process, so the temporary files it holds open are this process's: a
sampler reads their sizes from /proc/self/fd while the request runs.
"""

import json
import os
import re
import select
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from core.body_limit import SLACK
from removal.decode import MAX_BYTES
from tests import live

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024
TOO_BIG = 60 * MB  # what the issue sent with requests
HUGE = 200 * MB  # far more than any socket buffer holds: the client sees the answer long before the end
SIZE_ERROR = re.compile(r"File size \((\d+\.\d) MB\) exceeds the maximum allowed size of 50 MB\.")
UPLOAD_PATHS = ["/rmbg", "/api/rmbg", "/editor/jobs/"]


@pytest.fixture
def spool_dir(tmp_path, monkeypatch, settings) -> Path:
    """Every temporary file the server writes goes here: Django's body spool (tempfile's default
    directory) and the multipart parser's upload files (FILE_UPLOAD_TEMP_DIR)."""
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    return spool


@pytest.fixture
def server(spool_dir):
    with live.asgi_server(websockets=False) as base_url:
        yield base_url


def _open_bytes_under(directory: Path) -> int:
    """Bytes in the regular files under `directory` this process holds open (deleted ones too)."""
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(str(directory)):
                total += os.stat(f"/proc/self/fd/{fd}").st_size
        except OSError:
            continue  # closed meanwhile
    return total


@contextmanager
def peak_spool(directory: Path):
    """Samples the spooled bytes every few milliseconds; yields a dict whose "peak" is filled."""
    result = {"peak": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            result["peak"] = max(result["peak"], _open_bytes_under(directory))
            time.sleep(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()


def multipart_parts(image: bytes, boundary: str = "chunkedboundary") -> tuple[bytes, bytes, str]:
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="photo.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n").encode()
    tail = f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="format"\r\n\r\npng\r\n--{boundary}--\r\n'
    return head + image, tail.encode(), f"multipart/form-data; boundary={boundary}"


def generator_body(image: bytes, *, pad_to: int = 0, chunk: int = 256 * 1024):
    """What `requests` sends chunked: a generator of unknown length. `pad_to` grows the file part."""
    head, tail, content_type = multipart_parts(image)

    def chunks():
        for start in range(0, len(head), chunk):
            yield head[start:start + chunk]
        padding = b"\0" * chunk
        for _ in range(max(0, pad_to - len(head)) // chunk):
            yield padding
        yield tail

    return chunks(), content_type


def raw_chunked_post(base_url: str, path: str, image: bytes, *, pad_to: int = 0) -> tuple[int, bytes, int, bool]:
    """POST over a plain socket with chunked framing, reading as we go: (status, body, bytes sent,
    whether the server closed the connection after answering)."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    body, content_type = generator_body(image, pad_to=pad_to, chunk=64 * 1024)
    sent, answer = 0, b""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        try:
            for piece in body:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered before the end of the body
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed on us after answering: read what it said
        closed = False
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
            answer += data
            if _complete(answer) and not select.select([sock], [], [], 2)[0]:
                break  # a whole answer and the connection kept open
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload, sent, closed


def _complete(answer: bytes) -> bool:
    head, sep, payload = answer.partition(b"\r\n\r\n")
    match = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    return bool(sep and match and len(payload) >= int(match.group(1)))


def _size_error_mb(payload: bytes) -> float:
    body = json.loads(payload)
    assert body["status"] == 400
    match = SIZE_ERROR.fullmatch(body["error"])
    assert match, body
    return float(match.group(1))


def test_it_processes_a_valid_jpeg_sent_chunked_by_requests(server, photo_jpeg):
    body, content_type = generator_body(photo_jpeg)

    response = requests.post(f"{server}/rmbg", data=body, headers={"Content-Type": content_type}, timeout=60)

    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_it_processes_a_valid_jpeg_sent_chunked_over_a_raw_socket(server, photo_jpeg):
    status, payload, _sent, _closed = raw_chunked_post(server, "/api/rmbg", photo_jpeg)

    assert status == 200, payload[:300]
    assert payload.startswith(b"\x89PNG")


def test_it_processes_a_valid_jpeg_sent_chunked_to_the_editor(server, photo_jpeg, alice, tmp_path, settings):
    from tests.editor.conftest import fund, logged_in, session_cookie

    settings.MEDIA_ROOT = str(tmp_path / "media")
    fund(alice)
    session = requests.Session()
    session.headers["Cookie"] = session_cookie(logged_in(alice))
    csrf = session.get(f"{server}/editor/", timeout=30).cookies["csrftoken"]
    body, content_type = generator_body(photo_jpeg)

    response = session.post(f"{server}/editor/jobs/", data=body, timeout=60, headers={
        "Content-Type": content_type, "X-CSRFToken": csrf, "Cookie": f"{session.headers['Cookie']}; csrftoken={csrf}"})

    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 200, response.text
    assert response.json()["stage"] == "done"


@pytest.mark.parametrize("path", UPLOAD_PATHS)
def test_it_refuses_a_chunked_body_past_the_limit_while_it_streams(server, spool_dir, photo_jpeg, path):
    with peak_spool(spool_dir) as spooled:
        status, payload, sent, closed = raw_chunked_post(server, path, photo_jpeg, pad_to=HUGE)

    assert status == 400
    assert 51.0 <= _size_error_mb(payload) < 52.0  # what had arrived when it passed the limit
    assert closed
    assert sent < 100 * MB  # refused long before the client finished sending
    assert spooled["peak"] <= MAX_BYTES + SLACK + MB, f"{spooled['peak'] / MB:.1f} MB spooled"


def test_it_refuses_a_chunked_body_past_the_limit_sent_by_requests(server, spool_dir, photo_jpeg):
    body, content_type = generator_body(photo_jpeg, pad_to=TOO_BIG)

    with peak_spool(spool_dir) as spooled:
        response = requests.post(f"{server}/rmbg", data=body, headers={"Content-Type": content_type}, timeout=60)

    assert response.status_code == 400
    assert 51.0 <= _size_error_mb(response.content) < 52.0
    assert response.headers["Connection"] == "close"
    assert spooled["peak"] <= MAX_BYTES + SLACK + MB, f"{spooled['peak'] / MB:.1f} MB spooled"
