from datetime import UTC, date, datetime

import pytest

from billing import quota
from billing.usage import billing_cycles_list, membership_usage, usage_daily

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PERIOD_START = 1740441600  # 2025-02-25T00:00:00Z, as in SPEC's example
PERIOD_END = 1743033599
FEB_START = int(datetime(2025, 2, 1, tzinfo=UTC).timestamp())


@pytest.fixture
def premium(alice, redis_client):
    """SPEC §3's example state for alice."""
    uid = alice.pk
    for name, value in {"membership": "Premium-20000", "credits": 18500, "prepaid_credits": 2000,
                        "billing_period_start": PERIOD_START, "billing_period_end": PERIOD_END}.items():
        redis_client.set(f"user:{uid}:{name}", value)
    redis_client.set(f"user:{uid}:app_usage:2025:3", 8500)
    redis_client.set(f"user:{uid}:api_usage:2025:3", 10000)
    redis_client.set(f"user:{uid}:app_usage:cycle:{PERIOD_START}", 4200)
    redis_client.set(f"user:{uid}:api_usage:cycle:{PERIOD_START}", 5100)
    redis_client.set(f"user:{uid}:app_usage:2024:12", 7)
    return alice


def test_it_returns_the_calendar_month_by_default(premium):
    assert membership_usage(user_id=premium.pk, now=NOW) == {
        "membership": "Premium-20000", "credits": 18500, "prepaidCredits": 2000,
        "app_usage": 8500, "api_usage": 10000,
    }


def test_it_returns_a_requested_month(premium):
    payload = membership_usage(user_id=premium.pk, year=2024, month=12, now=NOW)
    assert (payload["app_usage"], payload["api_usage"]) == (7, 0)


def test_it_adds_the_billing_cycle_when_expanded(premium):
    expected = {
        "membership": "Premium-20000", "credits": 18500, "prepaidCredits": 2000,
        "app_usage": 8500, "api_usage": 10000,
        "billingCycle": {"periodStartUnix": 1740441600, "periodEndUnix": 1743033599,
                         "appUsage": 4200, "apiUsage": 5100, "includedCredits": 18500, "prepaidCredits": 2000,
                         "usedIncludedCredits": 9300, "remainingIncludedCredits": 9200,
                         "stripeBillingSynced": True}}
    assert membership_usage(user_id=premium.pk, with_cycle=True, now=NOW) == expected


def test_it_reads_cycle_counters_for_period_start_unix(premium):
    payload = membership_usage(user_id=premium.pk, period_start=PERIOD_START, with_cycle=True, now=NOW)
    assert (payload["app_usage"], payload["api_usage"]) == (4200, 5100)
    assert payload["billingCycle"]["periodStartUnix"] == PERIOD_START
    assert payload["billingCycle"]["periodEndUnix"] == PERIOD_END


def test_it_uses_the_calendar_month_as_the_cycle_before_sync(alice):
    for _ in range(3):
        quota.credits_reserve(user_id=alice.pk, source="app", now=NOW)
    payload = membership_usage(user_id=alice.pk, with_cycle=True, now=NOW)
    march = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp())
    assert payload == {
        "membership": "Free", "credits": 10, "prepaidCredits": 0, "app_usage": 3, "api_usage": 0,
        "billingCycle": {"periodStartUnix": march, "periodEndUnix": int(datetime(2025, 4, 1, tzinfo=UTC)
                                                                        .timestamp()) - 1,
                         "appUsage": 3, "apiUsage": 0, "includedCredits": 10, "prepaidCredits": 0,
                         "usedIncludedCredits": 3, "remainingIncludedCredits": 7,
                         "stripeBillingSynced": False}}


def test_it_lists_billing_cycles_newest_first(premium, redis_client):
    uid = premium.pk
    # an unsynced February before the subscription started on Feb 25
    quota_now = datetime(2025, 2, 10, tzinfo=UTC)
    redis_client.delete(f"user:{uid}:billing_period_start", f"user:{uid}:billing_period_end")
    quota.credits_reserve(user_id=uid, source="api", now=quota_now)
    redis_client.set(f"user:{uid}:billing_period_start", PERIOD_START)
    redis_client.set(f"user:{uid}:billing_period_end", PERIOD_END)
    assert billing_cycles_list(user_id=uid) == [
        {"periodStartUnix": PERIOD_START, "periodEndUnix": PERIOD_END, "appUsage": 4200, "apiUsage": 5100},
        {"periodStartUnix": FEB_START, "periodEndUnix": PERIOD_START - 1, "appUsage": 0, "apiUsage": 1},
    ]


def test_it_lists_the_current_period_even_without_usage(alice, redis_client):
    redis_client.set(f"user:{alice.pk}:billing_period_start", PERIOD_START)
    redis_client.set(f"user:{alice.pk}:billing_period_end", PERIOD_END)
    assert billing_cycles_list(user_id=alice.pk) == [
        {"periodStartUnix": PERIOD_START, "periodEndUnix": PERIOD_END, "appUsage": 0, "apiUsage": 0}]


def test_it_returns_daily_usage(alice):
    quota.credits_reserve(user_id=alice.pk, source="app", now=datetime(2025, 3, 9, 23, 59, 59, tzinfo=UTC))
    quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    assert usage_daily(user_id=alice.pk, start=date(2025, 3, 9), end=date(2025, 3, 11)) == [
        {"date": "2025-03-09", "app": 1, "api": 0},
        {"date": "2025-03-10", "app": 0, "api": 2},
        {"date": "2025-03-11", "app": 0, "api": 0},
    ]
