"""Every response carries X-Request-ID (the caller's when plausible), and so does every log line."""

import io
import json
import logging
import re

import pytest

from core.logs import JsonFormatter, RequestIdFilter


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cutout.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_it_makes_an_id_and_logs_the_request_with_it(client, log_lines):
    response = client.get("/healthz")
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    (line,) = log_lines()
    assert line["request_id"] == request_id
    assert (line["method"], line["path"], line["route"], line["status"]) == ("GET", "/healthz", "healthz", 200)
    assert line["logger"] == "cutout.request" and line["level"] == "INFO"


@pytest.mark.django_db
def test_it_keeps_the_callers_id(client, log_lines):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c01:req.42"})
    assert response["X-Request-ID"] == "lb-7f3a9c01:req.42"
    assert log_lines()[0]["request_id"] == "lb-7f3a9c01:req.42"


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["short", "has space in it", "x" * 129, "new\\nline-forged-entry", "<script>abc"])
def test_it_replaces_an_implausible_id(client, bad):
    response = client.get("/healthz", headers={"X-Request-ID": bad})
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db
async def test_it_tags_records_under_the_async_handler(async_client, log_lines):
    response = await async_client.get("/api/membership-usage")  # 401 without a key
    assert response.status_code == 401
    line = log_lines()[-1]
    assert line["request_id"] == response["X-Request-ID"]
    assert line["route"] == "api/membership-usage"


def test_it_tags_records_logged_anywhere_during_the_request(rf):
    from core.logs import RequestIdMiddleware

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.production.view")
    logger.addHandler(handler)
    logger.propagate = False

    def view(request):
        from django.http import HttpResponse

        logger.warning("inside the view", extra={"detail": 3})
        return HttpResponse("ok")

    try:
        response = RequestIdMiddleware(view)(rf.get("/anything"))
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    entry = json.loads(stream.getvalue())
    assert entry["request_id"] == response["X-Request-ID"]
    assert (entry["message"], entry["detail"], entry["level"]) == ("inside the view", 3, "WARNING")
