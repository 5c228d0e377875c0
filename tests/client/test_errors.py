"""Typed errors from the server's JSON error shape, Retry-After parsing and the retry decision."""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from cutout_client import (
    BadRequest,
    CutoutError,
    Forbidden,
    RateLimited,
    RetryPolicy,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
)
from cutout_client.errors import error_from_response, retry_after_parse


def test_it_carries_status_error_and_details():
    details = [{"field": "w", "message": "'w' must be an integer, got: 'abc'"},
               {"field": "angle", "message": "'angle' must be a number, got: 'x'"}]
    body = json.dumps({"error": "Multiple validation errors", "details": details, "status": 400}).encode()
    error = error_from_response(400, body, {"Content-Type": "application/json"})
    assert isinstance(error, BadRequest)
    assert (error.status, error.error, error.details) == (400, "Multiple validation errors", details)
    assert "'w' must be an integer" in str(error)


@pytest.mark.parametrize(("status", "cls"), [
    (401, Unauthorized), (403, Forbidden), (429, RateLimited), (500, ServerError), (503, ServiceUnavailable),
    (418, CutoutError),
])
def test_it_picks_the_class_by_status(status, cls):
    error = error_from_response(status, json.dumps({"error": "x", "status": status}).encode(), {})
    assert type(error) is cls
    assert isinstance(error, CutoutError)


def test_it_survives_a_non_json_error_page():
    error = error_from_response(502, b"<html>Bad gateway</html>", {})
    assert isinstance(error, ServerError)
    assert error.error == "<html>Bad gateway</html>"
    assert error_from_response(502, b"", {}).error == "HTTP 502"


def test_it_exposes_retry_after_on_rate_limits():
    error = error_from_response(429, b'{"error": "slow down", "status": 429}', {"Retry-After": "7"})
    assert error.retry_after == 7
    assert error_from_response(429, b'{"error": "no credits", "status": 429}', {}).retry_after is None


def test_it_parses_retry_after_seconds_and_dates():
    assert retry_after_parse("3") == 3
    assert retry_after_parse(" 1.5 ") == 1.5
    assert retry_after_parse(None) is None
    assert retry_after_parse("soon") is None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    when = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_parse(when, now=now.timestamp()) == 30
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert retry_after_parse(past, now=now.timestamp()) == 0


def _error(status, **headers):
    return error_from_response(status, b'{"error": "e"}', headers)


def test_it_retries_rate_limits_only_when_told_how_long_to_wait():
    policy = RetryPolicy(max_retries=2, max_retry_wait=10)
    assert policy.delay(0, _error(429, **{"Retry-After": "2"})) == 2
    assert policy.delay(0, _error(429)) is None  # monthly credits: waiting will not help
    assert policy.delay(0, _error(429, **{"Retry-After": "3600"})) is None  # daily limit: too long
    assert policy.delay(2, _error(429, **{"Retry-After": "2"})) is None  # out of retries


def test_it_backs_off_on_503_and_refused_connections_but_not_other_errors():
    policy = RetryPolicy(max_retries=3, backoff=0.5)
    assert [policy.delay(n, _error(503)) for n in range(4)] == [0.5, 1.0, 2.0, None]
    assert policy.delay(0, _error(503, **{"Retry-After": "4"})) == 4
    assert policy.delay(1, None) == 1.0
    for status in (400, 401, 403, 500):
        assert policy.delay(0, _error(status)) is None
