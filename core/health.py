"""GET /healthz: is this process able to serve? Database, Redis and model, each checked live.

It also tells whether a batch worker is alive ("worker": "ok" | "none alive" | "unknown" when Redis
does not answer), from the workers' heartbeats. That does not turn the status red: this web process
serves /rmbg and the editor without workers; POST /api/jobs refuses with 503 on its own.

GET /status/: the same checks as a page for people (the footer's "Status" link)."""

from pathlib import Path

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render

from core import worker_heartbeat
from removal.provision import model_is_installed


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _redis_ok() -> bool:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


_model_verified = False


def _model_ok() -> bool:
    # Hashing 4.5 MB on every probe is wasteful; once verified, checking presence is enough.
    global _model_verified
    path = Path(settings.U2NET_HOME)
    if _model_verified:
        return (path / "u2netp.onnx").is_file()
    _model_verified = model_is_installed(path)
    return _model_verified


def _worker_state() -> str:
    try:
        return "ok" if worker_heartbeat.workers_alive_count() else "none alive"
    except (redis.RedisError, OSError):
        return "unknown"


def _checks() -> dict[str, bool]:
    return {"database": _database_ok(), "redis": _redis_ok(), "model": _model_ok()}


_PARTS = {"database": "Accounts and jobs (database)", "redis": "Credits and rate limits (Redis)",
          "model": "Background removal (model)"}


def status_page(request):
    checks = _checks()
    ok = all(checks.values())
    parts = [{"name": _PARTS[key], "ok": value} for key, value in checks.items()]
    return render(request, "status.html", {"ok": ok, "parts": parts}, status=200 if ok else 503)


def healthz(request):
    checks = _checks()
    ok = all(checks.values())
    body = {"status": "ok" if ok else "unavailable"} | {k: "ok" if v else "down" for k, v in checks.items()}
    body["worker"] = _worker_state()  # informative only: the batch tier is not this process
    return JsonResponse(body, status=200 if ok else 503)

