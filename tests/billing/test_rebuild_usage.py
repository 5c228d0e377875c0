from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from billing import quota
from billing.errors import NoCreditsLeft
from billing.ledger import pack_grant_record
from billing.state import account_write, prepaid_grant_apply
from tests.billing.conftest import redis_dump

pytestmark = pytest.mark.django_db


def test_it_restores_every_counter_and_balance_after_redis_lost_its_data(alice, bob, redis_client):
    pack_grant_record(user_id=alice.pk, idempotency_key="stripe:checkout:cs_a", credits=3, reference="cs_a")
    prepaid_grant_apply(user_id=alice.pk, idempotency_key="stripe:checkout:cs_a", credits=3)
    start, end = 1772323200 + 5 * 86400, 1772323200 + 35 * 86400 - 1
    account_write(user_id=bob.pk, fields={"plan_slug": "premium-1000", "membership": "Premium-1000",
                                          "credits": 1000, "period_start": start, "period_end": end})
    moments = [datetime(2026, 2, 27, 10, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC),
               datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)]
    for i, now in enumerate(moments):
        for user in (alice, bob):
            for source in ("app", "api"):
                reservation = quota.credits_reserve(user_id=user.pk, source=source, now=now)
                if i % 2:
                    quota.credits_refund(reservation=reservation)
                else:
                    quota.credits_commit(reservation=reservation)
    # alice (Free = 10 a month) spends into her prepaid credits in March
    march = datetime(2026, 3, 20, tzinfo=UTC)
    with pytest.raises(NoCreditsLeft):
        for _ in range(20):
            quota.credits_commit(reservation=quota.credits_reserve(user_id=alice.pk, source="api", now=march))
    assert redis_client.get(f"user:{alice.pk}:prepaid_credits") == b"0"

    before = redis_dump(redis_client)
    assert before
    redis_client.flushdb()
    call_command("rebuild_usage")
    after = redis_dump(redis_client)
    assert after == before
    # and the restored state behaves: alice is out of credits, bob can still spend
    with pytest.raises(NoCreditsLeft):
        quota.credits_reserve(user_id=alice.pk, source="api", now=march)
    quota.credits_reserve(user_id=bob.pk, source="api", now=march)


def test_it_makes_a_replayed_pack_grant_a_no_op_after_rebuild(alice, redis_client):
    pack_grant_record(user_id=alice.pk, idempotency_key="stripe:checkout:cs_b", credits=5, reference="cs_b")
    prepaid_grant_apply(user_id=alice.pk, idempotency_key="stripe:checkout:cs_b", credits=5)
    redis_client.flushdb()
    call_command("rebuild_usage")
    assert prepaid_grant_apply(user_id=alice.pk, idempotency_key="stripe:checkout:cs_b", credits=5) is False
    assert redis_client.get(f"user:{alice.pk}:prepaid_credits") == b"5"
