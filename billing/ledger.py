"""The durable usage ledger: one row per charge, refund and grant, unique by idempotency key.

Each write is a single INSERT (get_or_create) in autocommit mode — no long transaction, no Redis
or HTTP call inside one. `usage_rebuild()` restores the Redis counters and balances from it.
"""

import threading
from collections import defaultdict
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, connection
from django.db.models import Sum

from billing import redis_client as rc
from billing.models import BillingAccount, LedgerEntry

if TYPE_CHECKING:
    from billing.quota import Reservation


_sqlite_lock = threading.RLock()  # re-entrant: webhook handlers write ledger rows inside it


def db_serialized() -> AbstractContextManager:
    """SQLite has a single writer; concurrent threads of one process get "database table is locked"
    instead of waiting (shared-cache databases, as in tests). Serialize our writes in-process there.
    PostgreSQL needs no lock: the unique constraints below are the guard."""
    return _sqlite_lock if connection.vendor == "sqlite" else nullcontext()


def _get_or_create(idempotency_key: str, **fields) -> tuple[LedgerEntry, bool]:
    # The unique key is the guard: two writers racing on one key get one row, and both learn it.
    with db_serialized():
        try:
            return LedgerEntry.objects.get_or_create(idempotency_key=idempotency_key, defaults=fields)
        except IntegrityError:
            return LedgerEntry.objects.get(idempotency_key=idempotency_key), False


def _usage_fields(reservation: "Reservation") -> dict:
    return {
        "user_id": reservation.user_id, "bucket": reservation.bucket, "source": reservation.source,
        "reference": reservation.id, "period_start": reservation.window_start,
        "year": reservation.year, "month": reservation.month, "day": date.fromisoformat(reservation.day),
    }


def charge_record(*, reservation: "Reservation") -> LedgerEntry:
    entry, _ = _get_or_create(reservation.charge_key, kind=LedgerEntry.Kind.CHARGE, credits=-1,
                              **_usage_fields(reservation))
    return entry


def refund_record(*, reservation: "Reservation") -> LedgerEntry:
    entry, _ = _get_or_create(reservation.refund_key, kind=LedgerEntry.Kind.REFUND, credits=1,
                              **_usage_fields(reservation))
    return entry


def plan_grant_record(*, user_id: int, idempotency_key: str, credits: int, period_start: int,
                      period_end: int, reference: str) -> tuple[LedgerEntry, bool]:
    return _get_or_create(
        idempotency_key, user_id=user_id, kind=LedgerEntry.Kind.PLAN_GRANT,
        bucket=LedgerEntry.Bucket.INCLUDED, credits=credits, period_start=period_start,
        period_end=period_end, reference=reference,
    )


def pack_grant_record(*, user_id: int, idempotency_key: str, credits: int,
                      reference: str) -> tuple[LedgerEntry, bool]:
    return _get_or_create(
        idempotency_key, user_id=user_id, kind=LedgerEntry.Kind.PACK_GRANT,
        bucket=LedgerEntry.Bucket.PREPAID, credits=credits, reference=reference,
    )


def usage_rebuild() -> dict[str, int]:
    """Write every usage counter, prepaid balance and account state back to Redis from the database.

    Values are SET (not added), so running it twice, or on a Redis that kept part of its data, gives
    the same result. In-flight reservations are not restored: their charge rows count as charges.
    """
    counters: dict[str, int] = defaultdict(int)
    cycles: dict[int, set[int]] = defaultdict(set)
    rows = (
        LedgerEntry.objects.filter(kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.REFUND])
        .values("user_id", "source", "year", "month", "period_start", "day")
        .annotate(total=Sum("credits"))
    )
    for row in rows:
        used = -row["total"]  # a charge is −1 credit = +1 image
        uid, source = row["user_id"], row["source"]
        counters[rc.usage_month_key(uid, source, row["year"], row["month"])] += used
        counters[rc.usage_cycle_key(uid, source, row["period_start"])] += used
        cycles[uid].add(row["period_start"])
        counters[rc.usage_day_key(uid, source, row["day"].isoformat())] += used

    prepaid = _prepaid_rows().values("user_id").annotate(total=Sum("credits"))
    grants = LedgerEntry.objects.filter(
        kind__in=[LedgerEntry.Kind.PACK_GRANT, LedgerEntry.Kind.PLAN_GRANT]
    ).values_list("idempotency_key", flat=True)

    ttl = settings.BILLING_COUNTER_TTL_DAYS * 86400
    with rc.unavailable_on_error():
        pipe = rc.client_get().pipeline(transaction=False)
        for key, value in counters.items():
            pipe.set(key, max(0, value), ex=ttl)
        for uid, starts in cycles.items():
            pipe.zadd(rc.user_key(uid, "billing_cycles"), {str(start): start for start in starts})
            pipe.expire(rc.user_key(uid, "billing_cycles"), ttl)
        for row in prepaid:
            pipe.set(rc.user_key(row["user_id"], "prepaid_credits"), max(0, row["total"]))
        for key in grants:
            pipe.set(rc.applied_key(key), 1, ex=ttl)
        pipe.execute()

    from billing.state import account_redis_sync

    accounts = 0
    for account in BillingAccount.objects.all().iterator():
        account_redis_sync(account=account, force=True)
        accounts += 1
    return {"counters": len(counters), "prepaid": len(prepaid), "accounts": accounts}


def _prepaid_rows():
    """The prepaid balance's history: pack grants, minus prepaid charges, plus their refunds."""
    return LedgerEntry.objects.filter(bucket=LedgerEntry.Bucket.PREPAID)


def prepaid_balance(*, user_id: int) -> int:
    """A user's prepaid credits as the ledger has them (what usage_rebuild writes back to Redis)."""
    total = _prepaid_rows().filter(user_id=user_id).aggregate(total=Sum("credits"))["total"]
    return max(0, total or 0)
