"""Settle what a dead or cut-off worker left behind, following the ledger's decision.

* A charge still `reserved` in the database past the reservation timeout was never delivered
  (delivery commits it first): it is refunded, in the ledger and in Redis.
* A Redis reservation still pending past its deadline follows its ledger row: `committed` (the image
  was delivered while Redis could not be told) → committed in Redis; anything else → refunded. A
  reservation with no ledger row at all (the worker died between Redis and its INSERT) gets its
  charge row written and refunded, so the ledger tells the whole story.
* Refund rows a database outage left missing (LEDGER_RETRY_KEY) are written.
Run it every minute or so: `python manage.py sweep_reservations [--loop 60]`.
"""

import logging
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings

from billing import ledger, quota
from billing import redis_client as rc
from billing.models import LedgerEntry
from billing.reservation import Reservation
from billing.windows import now_utc

log = logging.getLogger(__name__)


def _refund(reservation: Reservation) -> bool:
    ledger.charge_record(reservation=reservation)  # the reserving process may have died before it
    return quota.credits_refund(reservation=reservation)


def _pending_settle(res_id: str) -> bool:
    reservation = quota.reservation_load(res_id)
    if reservation is None:
        rc.call(lambda r: r.zrem(rc.PENDING_KEY, res_id))
        return False
    row = LedgerEntry.objects.filter(idempotency_key=reservation.charge_key).values_list("state", flat=True)
    if row.first() == LedgerEntry.State.COMMITTED:
        quota.commit_redis(reservation)
        return False
    return _refund(reservation)


def _ledger_retries() -> None:
    for res_id in cast(set[str], rc.call(lambda r: r.smembers(rc.LEDGER_RETRY_KEY))):
        reservation = quota.reservation_load(res_id)
        if reservation is not None and reservation.state == "refunded":
            ledger.charge_record(reservation=reservation)
            state = ledger.charge_settle(reservation=reservation, state=LedgerEntry.State.REFUNDED)
            if state == LedgerEntry.State.REFUNDED:
                ledger.refund_record(reservation=reservation)
            else:  # the ledger says delivered: a refund row would contradict the charge it keeps
                log.warning("reservation %s refunded in Redis but %s in the ledger; no refund row written",
                            res_id, state)
        rc.call(lambda r: r.srem(rc.LEDGER_RETRY_KEY, res_id))  # noqa: B023 (called at once)


def reservations_sweep(*, now: datetime | None = None) -> int:
    """Returns how many reservations were refunded."""
    now = now_utc(now)
    timeout = settings.BILLING_RESERVATION_TIMEOUT
    refunded = sum(_refund(r) for r in ledger.charges_stale(before=now - timedelta(seconds=timeout)))
    due = int(now.timestamp())
    expired = cast(list[str], rc.call(lambda r: r.zrangebyscore(rc.PENDING_KEY, "-inf", due)))
    refunded += sum(_pending_settle(res_id) for res_id in expired)
    _ledger_retries()
    return refunded
