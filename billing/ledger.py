"""The durable usage ledger: one row per charge, refund and grant, unique by idempotency key.

A charge row is written `reserved` before any work and settled once, by a conditional UPDATE:
`committed` when the image is delivered, `refunded` when it is not. Whichever settles first wins,
so a late refund can never undo a delivered image and a late commit never revives a refund.
Each write is a single statement in autocommit mode — no long transaction, no Redis or HTTP call
inside one. billing/rebuild.py restores the Redis counters and balances from these rows.
"""

import threading
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime

from django.db import IntegrityError, connection
from django.db.models import Q, QuerySet, Sum

from billing.models import LedgerEntry
from billing.reservation import Reservation

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


def _usage_fields(reservation: Reservation) -> dict:
    return {
        "user_id": reservation.user_id, "bucket": reservation.bucket, "source": reservation.source,
        "reference": reservation.id, "period_start": reservation.window_start,
        "year": reservation.year, "month": reservation.month, "day": date.fromisoformat(reservation.day),
    }


def charge_record(*, reservation: Reservation) -> LedgerEntry:
    """The charge row, `reserved` until settled (a second call returns the row as it is)."""
    entry, _ = _get_or_create(reservation.charge_key, kind=LedgerEntry.Kind.CHARGE, credits=-1,
                              state=LedgerEntry.State.RESERVED, **_usage_fields(reservation))
    return entry


def charge_settle(*, reservation: Reservation, state: str) -> str:
    """Settle a reserved charge as `committed` or `refunded`; returns the state the row has now.

    The UPDATE only matches a row still `reserved`: the race between a worker's commit and the
    sweeper's refund has exactly one winner, decided here, in the database.
    """
    rows = LedgerEntry.objects.filter(idempotency_key=reservation.charge_key, kind=LedgerEntry.Kind.CHARGE)
    with db_serialized():
        rows.filter(state=LedgerEntry.State.RESERVED).update(state=state)
        current = rows.values_list("state", flat=True).first()
    return current or ""


def refund_record(*, reservation: Reservation) -> LedgerEntry:
    entry, _ = _get_or_create(reservation.refund_key, kind=LedgerEntry.Kind.REFUND, credits=1,
                              **_usage_fields(reservation))
    return entry


def charges_stale(*, before: datetime) -> list[Reservation]:
    """Charges still `reserved` that were written before `before`: their worker died, or never settled."""
    rows = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE, state=LedgerEntry.State.RESERVED,
                                      created_at__lt=before)
    return [_reservation_of(entry) for entry in rows]


def _reservation_of(entry: LedgerEntry) -> Reservation:
    attempt = int(entry.idempotency_key.rsplit(":", 1)[1])  # charge:<reservation id>:<attempt>
    return Reservation(
        id=entry.reference, user_id=entry.user_id, source=entry.source, bucket=entry.bucket,
        window_start=entry.period_start or 0, synced=False, year=entry.year or 0, month=entry.month or 0,
        day=entry.day.isoformat() if entry.day else "", attempt=attempt, state=entry.state,
    )


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


def admin_grant_record(*, user_id: int, idempotency_key: str, credits: int,
                       reference: str) -> tuple[LedgerEntry, bool]:
    return _get_or_create(
        idempotency_key, user_id=user_id, kind=LedgerEntry.Kind.ADMIN_GRANT,
        bucket=LedgerEntry.Bucket.PREPAID, credits=credits, reference=reference,
    )


def prepaid_rows() -> QuerySet[LedgerEntry]:
    """The prepaid balance's history: pack and admin grants, minus committed prepaid charges."""
    return LedgerEntry.objects.filter(bucket=LedgerEntry.Bucket.PREPAID).filter(
        Q(kind__in=[LedgerEntry.Kind.PACK_GRANT, LedgerEntry.Kind.ADMIN_GRANT])
        | Q(kind=LedgerEntry.Kind.CHARGE, state=LedgerEntry.State.COMMITTED))


def prepaid_balance(*, user_id: int) -> int:
    """A user's prepaid credits as the ledger has them (what rebuild_usage writes back to Redis)."""
    total = prepaid_rows().filter(user_id=user_id).aggregate(total=Sum("credits"))["total"]
    return max(0, total or 0)
