"""Credits given by staff (the admin's "Grant credits" action): prepaid credits that never reset.

The same two steps as a Stripe pack purchase (billing/webhooks.py `_pack_grant`): a ledger row first
(durable, unique key), then `prepaid_grant_apply`, whose marker key makes the Redis side happen once.
So `rebuild_usage` restores the grant like any other, and nothing writes Redis directly.
"""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser

from billing import ledger
from billing.errors import GrantInvalid
from billing.models import LedgerEntry
from billing.state import prepaid_grant_apply

MAX_GRANT = 1_000_000
MAX_REASON = 200


def credits_grant(*, user_id: int, credits: int, reason: str, granted_by: AbstractBaseUser,
                  idempotency_key: str | None = None) -> LedgerEntry:
    """Add `credits` prepaid credits to the user's balance. Retrying with the same `idempotency_key`
    grants once."""
    reason = " ".join(reason.split())
    if isinstance(credits, bool) or not 1 <= credits <= MAX_GRANT or not reason or len(reason) > MAX_REASON:
        raise GrantInvalid()
    key = idempotency_key or f"admin:grant:{uuid.uuid4().hex}"
    reference = f"{granted_by.get_username()}: {reason}"[:255]
    entry, _ = ledger.admin_grant_record(user_id=user_id, idempotency_key=key, credits=credits,
                                         reference=reference)
    prepaid_grant_apply(user_id=user_id, idempotency_key=key, credits=entry.credits)
    return entry
