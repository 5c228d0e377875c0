"""billing.grants.credits_grant: staff-given prepaid credits, over real Redis and the ledger."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from billing import quota
from billing.errors import GrantInvalid
from billing.grants import credits_grant
from billing.models import LedgerEntry
from billing.usage import membership_usage

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("charlotte", "charlotte@example.com", "pw", is_staff=True)


def _prepaid(user) -> int:
    return membership_usage(user_id=user.pk)["prepaidCredits"]


def test_it_adds_prepaid_credits_with_a_ledger_row(alice, staff, redis_client):
    entry = credits_grant(user_id=alice.pk, credits=250, reason="  support   ticket 42 ", granted_by=staff)
    assert (entry.kind, entry.bucket, entry.credits) == ("admin_grant", "prepaid", 250)
    assert entry.reference == "charlotte: support ticket 42"
    assert redis_client.get(f"user:{alice.pk}:prepaid_credits") == b"250"
    credits_grant(user_id=alice.pk, credits=5, reason="again", granted_by=staff)
    assert _prepaid(alice) == 255


def test_it_grants_once_per_idempotency_key(alice, staff):
    for _ in range(3):
        credits_grant(user_id=alice.pk, credits=40, reason="form sent twice", granted_by=staff,
                      idempotency_key="admin:grant:form-1:alice")
    assert _prepaid(alice) == 40
    assert LedgerEntry.objects.filter(user=alice, kind="admin_grant").count() == 1


@pytest.mark.parametrize(("credits", "reason"), [(0, "x"), (-5, "x"), (1_000_001, "x"), (True, "x"), (10, "  "),
                                                 (10, "r" * 201)])
def test_it_refuses_bad_grants_and_writes_nothing(alice, staff, redis_client, credits, reason):
    with pytest.raises(GrantInvalid):
        credits_grant(user_id=alice.pk, credits=credits, reason=reason, granted_by=staff)
    assert not LedgerEntry.objects.exists()
    assert redis_client.get(f"user:{alice.pk}:prepaid_credits") is None


def test_it_survives_a_redis_rebuild_and_is_spent_after_the_included_credits(alice, staff, redis_client, settings):
    credits_grant(user_id=alice.pk, credits=3, reason="goodwill", granted_by=staff)
    redis_client.flushdb()
    call_command("rebuild_usage")
    assert _prepaid(alice) == 3
    for _ in range(10):  # the free plan's 10 included credits first
        quota.credits_commit(reservation=quota.credits_reserve(user_id=alice.pk, source="api"))
    reservation = quota.credits_reserve(user_id=alice.pk, source="api")
    assert reservation.bucket == "prepaid"
    quota.credits_commit(reservation=reservation)
    assert _prepaid(alice) == 2
