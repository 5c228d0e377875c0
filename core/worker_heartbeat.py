"""Is a batch worker alive? Each worker writes the time into one Redis sorted set every few seconds
(jobs.worker runs the beat); /healthz and POST /api/jobs read it.

One ZCOUNT on the app's own Redis answers in a millisecond, needs no broker round trip (a Celery
ping waits for every worker's reply, a second or more) and works the same with RabbitMQ as broker.
A worker that stops cleanly removes its entry; a killed one is forgotten after STALE_AFTER seconds.
"""

import threading
import time

import redis
from django.conf import settings

KEY = "cutout:workers:heartbeat"
INTERVAL = 5.0  # seconds between two beats of one worker
STALE_AFTER = 20.0  # a worker unheard of for this long is dead (four missed beats)

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def _client() -> redis.Redis:
    # Short timeouts: a probe or a submission must not hang on a Redis that stopped answering.
    url = settings.REDIS_URL
    with _lock:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1,
                                                 decode_responses=True)
        return _clients[url]


def heartbeat_beat(*, name: str, now: float | None = None) -> None:
    """Record that worker `name` is alive now, and forget workers unheard of for an hour."""
    moment = time.time() if now is None else now
    with _client().pipeline() as pipe:
        pipe.zadd(KEY, {name: moment})
        pipe.zremrangebyscore(KEY, "-inf", moment - 3600)
        pipe.execute()


def heartbeat_clear(*, name: str) -> None:
    """A worker stopping cleanly says so at once (no STALE_AFTER wait)."""
    _client().zrem(KEY, name)


def workers_alive(*, now: float | None = None) -> list[str]:
    """Names of the workers heard from in the last STALE_AFTER seconds. Raises redis.RedisError
    (or OSError) when Redis does not answer: the caller decides what that means."""
    moment = time.time() if now is None else now
    return [str(name) for name in _client().zrangebyscore(KEY, moment - STALE_AFTER, "+inf")]


def workers_alive_count(*, now: float | None = None) -> int:
    moment = time.time() if now is None else now
    return int(_client().zcount(KEY, moment - STALE_AFTER, "+inf"))


def workers_none_alive() -> bool:
    """True when Redis answers and no worker was heard from lately (POST /api/jobs then refuses).
    Redis not answering tells nothing about the workers: False, and the broker has the last word."""
    try:
        return workers_alive_count() == 0
    except (redis.RedisError, OSError):
        return False
