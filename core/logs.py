"""Structured logs: one JSON object per line, each carrying the id of the request it belongs to.

`RequestIdMiddleware` takes the caller's `X-Request-ID` when it looks like an id (a load balancer
or another service set it, so one id follows the request across systems), otherwise makes one,
keeps it in a context variable for the request's duration, returns it as `X-Request-ID`, and
logs one line per request. `RequestIdFilter` (on the handler) copies the id onto every record;
asgiref copies the context into `sync_to_async` threads, so records from sync code have it too.
"""

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from core.middleware import AroundMiddleware

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._:-]{8,128}")  # anything else could forge log lines or headers
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
access_log = logging.getLogger("cutout.request")

# LogRecord's own attributes; everything else on a record came from `extra=` and is logged too.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "request_id", "color_message",  # uvicorn's ANSI-coloured copy of the message
}


def request_id_get() -> str:
    return _request_id.get()


def request_id_accept(raw: str | None) -> str:
    """The caller's id when it is a plausible one, else a fresh uuid4 hex."""
    if raw and _VALID.fullmatch(raw):
        return raw
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            # django.request logs a 4xx/5xx after the middleware returned; its record names the request.
            request = getattr(record, "request", None)
            record.request_id = _request_id.get() or getattr(request, "request_id", "")
        return True


class ClientErrorFilter(logging.Filter):
    """django.security logs a refused request (RequestDataTooBig, DisallowedHost, a bad multipart
    body…) at ERROR, but each is answered 400: the client's mistake, not the server's. WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or _request_id.get(),
        }
        entry |= {key: value for key, value in vars(record).items() if key not in _STANDARD}
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None else ""


class RequestIdMiddleware(AroundMiddleware):
    """First in MIDDLEWARE, so the id covers everything after it (sync and async views alike)."""

    def before(self, request):
        request.request_id = request_id_accept(request.headers.get(HEADER))
        return _request_id.set(request.request_id), time.perf_counter()

    def after(self, request, response, state):
        _token, started = state
        response[HEADER] = request.request_id
        access_log.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={"method": request.method, "path": request.path, "route": _route(request),
                   "status": response.status_code,
                   "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
        )
        return response

    def finish(self, state) -> None:
        _request_id.reset(state[0])
