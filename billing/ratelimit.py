"""Short-term rate limits (the `limits` package on Redis) and the anonymous daily limit.

Short-term windows are per API key (source "api"), per user (source "app") or per IP (anonymous);
the size comes from the caller's plan (`rate_limit` in BILLING_PLANS) or BILLING_ANON_RATE_LIMIT,
and for test keys (never charged) from BILLING_TEST_KEY_RATE_LIMIT.

The anonymous daily limit is our own fixed window on the UTC day: `limits` starts its fixed
windows at the first hit (and its `1/day` moving windows are rolling 24 h), so it cannot reset
at UTC midnight as SPEC requires.
"""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)

from billing import redis_client as rc
from billing.errors import BillingUnavailable, DailyLimitReached, RateLimited
from billing.state import plan_for_membership
from billing.windows import now_utc

_STRATEGIES: dict[str, Callable[[RedisStorage], RateLimiter]] = {
    "fixed-window": FixedWindowRateLimiter,
    "moving-window": MovingWindowRateLimiter,
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
}
_limiters: dict[tuple[str, str], RateLimiter] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_seconds: int

    @property
    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


def _limiter() -> RateLimiter:
    key = (settings.REDIS_URL, settings.BILLING_RATE_LIMIT_STRATEGY)
    limiter = _limiters.get(key)
    if limiter is None:
        with _lock:
            limiter = _limiters.get(key)
            if limiter is None:
                storage = RedisStorage(settings.REDIS_URL, key_prefix="billing:ratelimit",
                                       wrap_exceptions=True, socket_connect_timeout=2, socket_timeout=5)
                limiter = _STRATEGIES[settings.BILLING_RATE_LIMIT_STRATEGY](storage)
                _limiters[key] = limiter
    return limiter


def _rate_for(caller) -> tuple[RateLimitItem, str]:
    user = getattr(caller, "user", None)
    if caller.source == "anonymous" or user is None:
        return parse(settings.BILLING_ANON_RATE_LIMIT), f"ip:{caller.ip}"
    if getattr(caller, "test_mode", False):  # test keys: their own window, whatever the plan
        return parse(settings.BILLING_TEST_KEY_RATE_LIMIT), f"testkey:{caller.api_key_id}"
    # Redis replies are str (decode_responses=True); redis-py types them bytes | str.
    membership = cast(str | None, rc.call(lambda r: r.get(rc.user_key(user.pk, "membership"))))
    item = parse(plan_for_membership(membership).rate_limit)
    if caller.source == "api" and getattr(caller, "api_key_id", None) is not None:
        return item, f"key:{caller.api_key_id}"
    return item, f"user:{user.pk}"


def ratelimit_check(*, caller) -> RateLimitState:
    """Count one request against the caller's short-term window; raise RateLimited when it is full.

    `caller` is accounts' Caller (duck-typed: user, source, ip, api_key_id).
    """
    item, identity = _rate_for(caller)
    limiter = _limiter()
    try:
        allowed = limiter.hit(item, identity)
        stats = limiter.get_window_stats(item, identity)
    except StorageError as exc:
        raise BillingUnavailable() from exc
    reset = math.ceil(stats.reset_time - time.time())
    if reset < 1:  # limits' sliding-window counter reports "now" after a fresh window's first hit
        reset = item.get_expiry()
    state = RateLimitState(limit=item.amount, remaining=max(0, stats.remaining), reset_seconds=reset)
    if not allowed:
        raise RateLimited(headers={"Retry-After": str(reset), **state.headers})
    return state


def anonymous_daily_check(*, ip: str, now: datetime | None = None) -> None:
    """Count one anonymous request for `ip` in the current UTC day; raise DailyLimitReached when
    the day's allowance (BILLING_ANON_DAILY_LIMIT) is used up. Call anonymous_daily_refund when the
    request then fails, so failures cost nothing."""
    now = now_utc(now)
    limit = settings.BILLING_ANON_DAILY_LIMIT
    midnight = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo) + timedelta(days=1)
    reset = max(1, math.ceil((midnight - now).total_seconds()))
    key = rc.anonymous_daily_key(ip, now.date().isoformat())

    def count(r):
        pipe = r.pipeline()  # MULTI: the counter never exists without its expiry
        pipe.incr(key)
        pipe.expire(key, reset + 3600)  # relative to `now`: gone an hour after the day ends
        return pipe.execute()[0]

    used = rc.call(count)
    if used > limit:
        rc.call(lambda r: r.decr(key))  # refused requests are not counted
        headers = {"Retry-After": str(reset), "RateLimit-Limit": str(limit),
                   "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
        raise DailyLimitReached(headers=headers)


def anonymous_daily_refund(*, ip: str, now: datetime | None = None) -> None:
    key = rc.anonymous_daily_key(ip, now_utc(now).date().isoformat())

    rc.call(lambda r: r.eval(_DECR_IF_POSITIVE, 1, key))


_DECR_IF_POSITIVE = """
if (tonumber(redis.call('GET', KEYS[1])) or 0) > 0 then return redis.call('DECR', KEYS[1]) end
"""
