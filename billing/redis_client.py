"""The billing Redis connection, built from settings.REDIS_URL at call time.

Clients are cached per URL, so a settings override (tests pointing at a closed port) takes effect
on the next call without any reset hook.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import redis
from django.conf import settings

from billing.errors import BillingUnavailable

T = TypeVar("T")
_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def client_get() -> redis.Redis:
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.get(url)
            if client is None:
                client = redis.Redis.from_url(
                    url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30,
                    decode_responses=True,
                )
                _clients[url] = client
    return client


@contextmanager
def unavailable_on_error() -> Iterator[None]:
    """Turn "cannot talk to Redis" into the typed 503; other Redis errors are bugs and propagate."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise BillingUnavailable() from exc


def call(fn: Callable[[redis.Redis], T]) -> T:
    with unavailable_on_error():
        return fn(client_get())


# Key names: the only place they are built. Lua scripts receive them through KEYS[], never
# concatenate them. SPEC §2 fixes the `user:{uid}:…` ones; the `billing:` ones are ours.

def user_key(uid: int, name: str) -> str:
    return f"user:{uid}:{name}"


def usage_month_key(uid: int, source: str, year: int, month: int) -> str:
    return f"user:{uid}:{source}_usage:{year}:{month}"


def usage_cycle_key(uid: int, source: str, period_start: int) -> str:
    return f"user:{uid}:{source}_usage:cycle:{period_start}"


def usage_day_key(uid: int, source: str, day: str) -> str:
    return f"user:{uid}:{source}_usage:day:{day}"


def cycles_index_key(uid: int) -> str:
    """Sorted set of the window starts that have cycle counters (listBillingCycles reads it)."""
    return user_key(uid, "billing_cycles")


def reservation_key(reservation_id: str) -> str:
    return f"billing:reservation:{reservation_id}"


PENDING_KEY = "billing:reservations:pending"  # sorted set: reservation id → deadline (unix)
LEDGER_RETRY_KEY = "billing:ledger:retry"  # reservation ids whose refund row a database outage left missing


def applied_key(idempotency_key: str) -> str:
    return f"billing:applied:{idempotency_key}"


def idempotency_key(*, operation: str, scope: str, digest: str) -> str:
    """An Idempotency-Key's record (api/idempotency.py): per operation ("rmbg", "jobs") and caller."""
    return f"api:idempotency:{operation}:{scope}:{digest}"


def anonymous_daily_key(ip: str, day: str) -> str:
    return f"billing:anon_daily:{ip}:{day}"
