import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from billing import quota, sweep
from billing.errors import BillingUnavailable, NoCreditsLeft
from billing.models import LedgerEntry
from tests.billing.conftest import run_concurrently

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 15, 12, 0, 0, tzinfo=UTC)
MARCH_START = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())


def _set(redis_client, uid, **values):
    for name, value in values.items():
        redis_client.set(f"user:{uid}:{name}", value)


def _int(redis_client, key) -> int:
    return int(redis_client.get(key) or 0)


def test_it_charges_the_month_cycle_and_day_counters_before_sync(alice, redis_client):
    reservation = quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    assert reservation.bucket == "included"
    assert reservation.synced is False
    assert reservation.window_start == MARCH_START
    assert _int(redis_client, f"user:{alice.pk}:api_usage:2026:3") == 1
    assert _int(redis_client, f"user:{alice.pk}:api_usage:cycle:{MARCH_START}") == 1
    assert _int(redis_client, f"user:{alice.pk}:api_usage:day:2026-03-15") == 1
    assert _int(redis_client, f"user:{alice.pk}:app_usage:2026:3") == 0
    ttl = redis_client.ttl(f"user:{alice.pk}:api_usage:2026:3")
    assert 399 * 86400 < ttl <= 400 * 86400


def test_it_writes_a_ledger_row_per_charge(alice):
    reservation = quota.credits_reserve(user_id=alice.pk, source="app", now=NOW)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.bucket, entry.source, entry.credits) == ("charge", "included", "app", -1)
    assert entry.idempotency_key == reservation.charge_key
    assert (entry.year, entry.month, entry.period_start) == (2026, 3, MARCH_START)


def test_it_spends_included_credits_first_then_prepaid(alice, redis_client):
    _set(redis_client, alice.pk, credits=2, prepaid_credits=1)
    buckets = [quota.credits_reserve(user_id=alice.pk, source="api", now=NOW).bucket for _ in range(3)]
    assert buckets == ["included", "included", "prepaid"]
    assert _int(redis_client, f"user:{alice.pk}:prepaid_credits") == 0
    with pytest.raises(NoCreditsLeft) as exc:
        quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    assert exc.value.status == 429
    assert exc.value.message == "You've reached your monthly limit. Consider purchasing more credits."
    assert _int(redis_client, f"user:{alice.pk}:api_usage:2026:3") == 3


def test_it_shares_one_pool_between_app_and_api(alice, redis_client):
    _set(redis_client, alice.pk, credits=2)
    quota.credits_reserve(user_id=alice.pk, source="app", now=NOW)
    quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    with pytest.raises(NoCreditsLeft):
        quota.credits_reserve(user_id=alice.pk, source="app", now=NOW)


def test_it_gives_users_without_state_the_free_allowance(alice):
    for _ in range(10):  # Free = 10 credits in the test catalogue
        quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    with pytest.raises(NoCreditsLeft):
        quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)


def test_it_refunds_once(alice, redis_client):
    _set(redis_client, alice.pk, credits=1)
    reservation = quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    assert quota.credits_refund(reservation=reservation) is True
    assert quota.credits_refund(reservation=reservation) is False
    for key in ("api_usage:2026:3", f"api_usage:cycle:{MARCH_START}", "api_usage:day:2026-03-15"):
        assert _int(redis_client, f"user:{alice.pk}:{key}") == 0
    kinds = sorted(LedgerEntry.objects.values_list("kind", flat=True))
    assert kinds == ["charge", "refund"]
    # the refunded credit can be spent again
    quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)


def test_it_refunds_a_prepaid_credit_to_the_prepaid_balance(alice, redis_client):
    _set(redis_client, alice.pk, credits=0, prepaid_credits=1)
    reservation = quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    assert reservation.bucket == "prepaid"
    assert _int(redis_client, f"user:{alice.pk}:prepaid_credits") == 0
    quota.credits_refund(reservation=reservation)
    quota.credits_refund(reservation=reservation)
    assert _int(redis_client, f"user:{alice.pk}:prepaid_credits") == 1


def test_it_does_not_refund_a_committed_reservation(alice, redis_client):
    reservation = quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    assert quota.credits_commit(reservation=reservation) is True
    assert quota.credits_commit(reservation=reservation) is False
    assert quota.credits_refund(reservation=reservation) is False
    assert _int(redis_client, f"user:{alice.pk}:api_usage:2026:3") == 1
    assert redis_client.zcard("billing:reservations:pending") == 0


def test_it_does_not_charge_twice_for_one_idempotency_key(alice, redis_client):
    first = quota.credits_reserve(user_id=alice.pk, source="app", idempotency_key="job-1", now=NOW)
    again = quota.credits_reserve(user_id=alice.pk, source="app", idempotency_key="job-1", now=NOW)
    assert again.id == first.id
    assert _int(redis_client, f"user:{alice.pk}:app_usage:2026:3") == 1
    assert LedgerEntry.objects.count() == 1


def test_it_charges_again_under_a_key_that_was_refunded(alice, redis_client):
    first = quota.credits_reserve(user_id=alice.pk, source="app", idempotency_key="job-1", now=NOW)
    quota.credits_refund(reservation=first)
    second = quota.credits_reserve(user_id=alice.pk, source="app", idempotency_key="job-1", now=NOW)
    assert second.attempt == 2
    assert _int(redis_client, f"user:{alice.pk}:app_usage:2026:3") == 1
    assert LedgerEntry.objects.filter(kind="charge").count() == 2


def test_it_uses_the_stripe_period_when_synced(alice, redis_client):
    start = int(datetime(2026, 3, 10, 8, 0, tzinfo=UTC).timestamp())
    end = int(datetime(2026, 4, 10, 8, 0, tzinfo=UTC).timestamp()) - 1
    _set(redis_client, alice.pk, credits=2, billing_period_start=start, billing_period_end=end)
    # usage earlier in March (before the period) does not count against this window
    redis_client.set(f"user:{alice.pk}:api_usage:2026:3", 50)
    reservation = quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    assert reservation.synced is True and reservation.window_start == start
    assert _int(redis_client, f"user:{alice.pk}:api_usage:cycle:{start}") == 1
    assert _int(redis_client, f"user:{alice.pk}:api_usage:2026:3") == 51
    quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    with pytest.raises(NoCreditsLeft):
        quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)


def test_it_falls_back_to_the_calendar_month_when_the_period_has_ended(alice, redis_client):
    _set(redis_client, alice.pk, credits=5, billing_period_start=MARCH_START - 40 * 86400,
         billing_period_end=MARCH_START - 10 * 86400)
    reservation = quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    assert reservation.synced is False and reservation.window_start == MARCH_START


def test_it_rolls_the_month_over_at_utc_midnight(alice, redis_client):
    before = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
    after = datetime(2026, 4, 1, 0, 0, 0, tzinfo=UTC)
    _set(redis_client, alice.pk, credits=1)
    quota.credits_reserve(user_id=alice.pk, source="api", now=before)
    quota.credits_reserve(user_id=alice.pk, source="api", now=after)  # a fresh month: allowance again
    april_start = int(after.timestamp())
    assert _int(redis_client, f"user:{alice.pk}:api_usage:2026:3") == 1
    assert _int(redis_client, f"user:{alice.pk}:api_usage:2026:4") == 1
    assert _int(redis_client, f"user:{alice.pk}:api_usage:cycle:{MARCH_START}") == 1
    assert _int(redis_client, f"user:{alice.pk}:api_usage:cycle:{april_start}") == 1
    assert _int(redis_client, f"user:{alice.pk}:api_usage:day:2026-03-31") == 1
    assert _int(redis_client, f"user:{alice.pk}:api_usage:day:2026-04-01") == 1


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_50_concurrent_requests_spend_the_last_credit(alice, redis_client):
    _set(redis_client, alice.pk, credits=5)
    redis_client.set(f"user:{alice.pk}:api_usage:2026:3", 4)
    results = run_concurrently(lambda: quota.credits_reserve(user_id=alice.pk, source="api", now=NOW), 50)
    assert sum(isinstance(r, quota.Reservation) for r in results) == 1
    assert sum(isinstance(r, NoCreditsLeft) for r in results) == 49
    assert _int(redis_client, f"user:{alice.pk}:api_usage:2026:3") == 5
    assert LedgerEntry.objects.filter(kind="charge").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_spends_exactly_15_of_50_concurrent_requests_included_first(alice, redis_client):
    _set(redis_client, alice.pk, credits=10, prepaid_credits=5)
    results = run_concurrently(lambda: quota.credits_reserve(user_id=alice.pk, source="app", now=NOW), 50)
    reservations = [r for r in results if isinstance(r, quota.Reservation)]
    assert len(reservations) == 15
    assert sum(isinstance(r, NoCreditsLeft) for r in results) == 35
    assert sorted(r.bucket for r in reservations) == ["included"] * 10 + ["prepaid"] * 5
    assert _int(redis_client, f"user:{alice.pk}:prepaid_credits") == 0
    assert _int(redis_client, f"user:{alice.pk}:app_usage:2026:3") == 15
    # every job fails: concurrent double refunds give back exactly what was taken
    run_concurrently(lambda: [quota.credits_refund(reservation=r) for r in reservations], 4)
    assert _int(redis_client, f"user:{alice.pk}:prepaid_credits") == 5
    assert _int(redis_client, f"user:{alice.pk}:app_usage:2026:3") == 0
    assert LedgerEntry.objects.filter(kind="refund").count() == 15


def test_it_sweeps_reservations_past_their_deadline(alice, redis_client, settings):
    settings.BILLING_RESERVATION_TIMEOUT = 60
    _set(redis_client, alice.pk, credits=0, prepaid_credits=1)
    stale = quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    assert sweep.reservations_sweep(now=NOW) == 0  # not yet due
    assert sweep.reservations_sweep(now=datetime(2026, 3, 15, 12, 1, 1, tzinfo=UTC)) == 1
    assert _int(redis_client, f"user:{alice.pk}:prepaid_credits") == 1
    assert _int(redis_client, f"user:{alice.pk}:api_usage:2026:3") == 0
    assert quota.credits_refund(reservation=stale) is False  # the late worker's refund is a no-op
    assert LedgerEntry.objects.filter(kind="refund").count() == 1


def test_it_is_unavailable_when_redis_is_down(alice, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/15"  # nothing listens on port 1
    with pytest.raises(BillingUnavailable) as exc:
        quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    assert exc.value.status == 503
    assert exc.value.message == "Service temporarily unavailable, please retry shortly."
    assert LedgerEntry.objects.count() == 0


def test_it_rejects_an_unknown_source(alice):
    with pytest.raises(ValueError):
        quota.credits_reserve(user_id=alice.pk, source="anonymous", now=NOW)



def test_it_sweeps_from_the_management_command(alice, redis_client, settings):
    settings.BILLING_RESERVATION_TIMEOUT = 30
    quota.credits_reserve(user_id=alice.pk, source="app", now=datetime(2020, 1, 1, tzinfo=UTC))
    out = io.StringIO()
    call_command("sweep_reservations", stdout=out)
    assert out.getvalue().strip() == "refunded 1 expired reservations"
    assert _int(redis_client, f"user:{alice.pk}:app_usage:2020:1") == 0


def test_it_writes_the_missing_charge_row_when_sweeping_a_dead_workers_reservation(alice, redis_client):
    reservation = quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    LedgerEntry.objects.all().delete()  # as if the worker died between the Lua call and its INSERT
    sweep.reservations_sweep(now=datetime(2026, 3, 16, tzinfo=UTC))
    keys = sorted(LedgerEntry.objects.values_list("idempotency_key", flat=True))
    assert keys == [reservation.charge_key, reservation.refund_key]


def test_it_writes_no_refund_row_for_a_charge_the_ledger_kept(alice, redis_client):
    """A refund queued while the database was down, for a charge the ledger had meanwhile committed
    (the image was delivered): the sweeper must not write a refund row beside a committed charge."""
    from billing import redis_client as rc

    reservation = quota.credits_reserve(user_id=alice.pk, source="api", now=NOW)
    LedgerEntry.objects.filter(idempotency_key=reservation.charge_key).update(state="committed")
    quota._refund_redis(reservation)  # Redis was refunded while the ledger could not be told
    redis_client.sadd(rc.LEDGER_RETRY_KEY, reservation.id)
    sweep.reservations_sweep(now=NOW)
    assert not LedgerEntry.objects.filter(kind="refund").exists()
    assert LedgerEntry.objects.get(idempotency_key=reservation.charge_key).state == "committed"
