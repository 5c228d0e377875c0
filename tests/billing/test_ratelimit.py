from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from billing.errors import BillingUnavailable, DailyLimitReached, RateLimited
from billing.ratelimit import anonymous_daily_check, anonymous_daily_refund, ratelimit_check

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Caller:  # the shape of accounts' Caller
    user: object
    source: str
    ip: str
    api_key_id: int | None = None


def test_it_limits_anonymous_callers_per_ip(redis_client):
    caller = Caller(None, "anonymous", "203.0.113.5")
    states = [ratelimit_check(caller=caller) for _ in range(4)]  # BILLING_ANON_RATE_LIMIT = 4/minute
    assert [s.remaining for s in states] == [3, 2, 1, 0]
    assert all(s.limit == 4 and 0 < s.reset_seconds <= 60 for s in states)
    with pytest.raises(RateLimited) as exc:
        ratelimit_check(caller=caller)
    assert exc.value.status == 429
    assert exc.value.message == "You're making requests too quickly, Please Upgrade or slow down."
    headers = exc.value.headers
    assert headers["RateLimit-Limit"] == "4" and headers["RateLimit-Remaining"] == "0"
    assert 0 < int(headers["Retry-After"]) <= 60 and headers["RateLimit-Reset"] == headers["Retry-After"]
    # another IP has its own window
    assert ratelimit_check(caller=Caller(None, "anonymous", "203.0.113.6")).remaining == 3


def test_it_limits_by_the_plan_of_the_user(alice, redis_client):
    caller = Caller(alice, "app", "203.0.113.5")
    assert ratelimit_check(caller=caller).limit == 5  # Free: 5/minute in the test catalogue
    redis_client.set(f"user:{alice.pk}:membership", "Premium-1000")
    assert ratelimit_check(caller=caller).limit == 60


def test_it_limits_each_api_key_separately(alice):
    for _ in range(5):
        ratelimit_check(caller=Caller(alice, "api", "198.51.100.1", api_key_id=1))
    with pytest.raises(RateLimited):
        ratelimit_check(caller=Caller(alice, "api", "198.51.100.1", api_key_id=1))
    assert ratelimit_check(caller=Caller(alice, "api", "198.51.100.1", api_key_id=2)).remaining == 4


def test_it_allows_the_daily_anonymous_allowance_per_utc_day(redis_client):
    late = datetime(2026, 5, 4, 23, 59, 59, tzinfo=UTC)
    for _ in range(3):  # BILLING_ANON_DAILY_LIMIT = 3
        anonymous_daily_check(ip="203.0.113.9", now=late)
    with pytest.raises(DailyLimitReached) as exc:
        anonymous_daily_check(ip="203.0.113.9", now=late)
    assert exc.value.status == 429
    assert exc.value.message == "You've reached your daily limit. Please sign up for more access."
    assert exc.value.headers["Retry-After"] == "1"
    assert exc.value.headers["RateLimit-Remaining"] == "0"
    anonymous_daily_check(ip="203.0.113.9", now=datetime(2026, 5, 5, 0, 0, 0, tzinfo=UTC))  # a new UTC day
    assert 0 < redis_client.ttl("billing:anon_daily:203.0.113.9:2026-05-04")


def test_it_gives_back_the_daily_allowance_of_a_failed_request():
    now = datetime(2026, 5, 4, 12, tzinfo=UTC)
    for _ in range(3):
        anonymous_daily_check(ip="203.0.113.9", now=now)
    anonymous_daily_refund(ip="203.0.113.9", now=now)
    anonymous_daily_check(ip="203.0.113.9", now=now)
    with pytest.raises(DailyLimitReached):
        anonymous_daily_check(ip="203.0.113.9", now=now)


def test_it_is_unavailable_when_redis_is_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/15"
    with pytest.raises(BillingUnavailable):
        ratelimit_check(caller=Caller(None, "anonymous", "203.0.113.5"))
    with pytest.raises(BillingUnavailable):
        anonymous_daily_check(ip="203.0.113.5")
