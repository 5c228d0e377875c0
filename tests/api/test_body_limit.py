"""A body far over the limit is refused from Content-Length alone, as JSON, without being read."""

import json

import pytest

from config.asgi import application


def http_scope(path: str, content_length: int) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-length", str(content_length).encode()),
                    (b"content-type", b"multipart/form-data; boundary=x")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }


async def call(scope) -> tuple[dict, bytes, int]:
    sent: list[dict] = []
    reads = 0

    async def receive():
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return sent[0], b"".join(m.get("body", b"") for m in sent[1:]), reads


@pytest.mark.parametrize("path", ["/rmbg", "/api/rmbg", "/editor/jobs/"])
async def test_it_refuses_a_huge_upload_without_reading_it(path):
    start, body, reads = await call(http_scope(path, 2 * 1024**3))
    assert start["status"] == 400
    assert (b"content-type", b"application/json") in start["headers"]
    assert json.loads(body) == {"error": "File size (2048.0 MB) exceeds the maximum allowed size of 50 MB.",
                                "status": 400}
    assert reads == 0
