"""The charged run: the one place that decides whether a request may spend a credit, and settles it.

    async with credit_held(caller=caller, where="POST /rmbg") as charge:
        result = await pipeline.cutout_make(...)
    # here the credit is committed: deliver the result

Called by the one charged cut-out (cutouts.service), for the API, the editor and batch workers:

* on entry: a signed-in caller reserves one credit (NoCreditsLeft 429, BillingUnavailable 503);
  an anonymous caller spends one of the IP's trial images for the UTC day (DailyLimitReached 429);
  a test key (SPEC §7) spends nothing and counts as no usage;
* the block fails → the credit is refunded. A domain error (a bad image, a full pool: 400, 503…)
  passes through; anything else is logged once with its traceback and the request id and becomes
  ProcessingFailed (JSON 500) — nothing is charged either way;
* the block succeeds → the charge is committed. The rule: **a delivered image is charged, an
  undelivered one is not**, and the ledger row decides. If the database cannot record the commit,
  BillingUnavailable (503) is raised and the result must not be delivered (the sweeper refunds it);
  if only Redis cannot be told, the charge stands and the sweeper settles Redis from the ledger.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from asgiref.sync import sync_to_async

from billing import quota, ratelimit
from billing.errors import BillingUnavailable
from billing.reservation import Reservation
from core import metrics
from core.errors import processing_failed

log = logging.getLogger(__name__)


@dataclass
class Charge:
    source: str  # "api" | "app" | "anonymous" | "test"
    reservation: Reservation | None  # None for the anonymous trial and test keys

    @property
    def credits(self) -> int:
        """Credits this run costs once committed (the X-Credits-Charged header)."""
        return 1 if self.reservation is not None else 0


def _open(*, caller, idempotency_key: str | None) -> Charge:
    if getattr(caller, "test_mode", False):  # SPEC §7: a test key is never charged nor counted
        return Charge(source="test", reservation=None)
    if caller.user is None:
        ratelimit.anonymous_daily_check(ip=caller.ip)
        return Charge(source="anonymous", reservation=None)
    reservation = quota.credits_reserve(user_id=caller.user.id, source=caller.source,
                                        idempotency_key=idempotency_key)
    return Charge(source=caller.source, reservation=reservation)


def _cancel(charge: Charge, *, ip: str) -> None:
    if charge.source == "anonymous":
        ratelimit.anonymous_daily_refund(ip=ip)
    elif charge.reservation is not None:
        quota.credits_refund(reservation=charge.reservation)


def _settle(charge: Charge) -> None:
    if charge.reservation is not None:
        quota.credits_commit(reservation=charge.reservation)
    metrics.image_processed(source=charge.source)


@asynccontextmanager
async def credit_held(*, caller, where: str, idempotency_key: str | None = None) -> AsyncIterator[Charge]:
    """Reserve → run the block → commit, or refund on any failure (see the module docstring).

    `caller` is accounts' Caller (user, source, ip); `where` names the path in the error log.
    """
    charge = await sync_to_async(_open)(caller=caller, idempotency_key=idempotency_key)
    try:
        yield charge
    except BaseException as exc:  # a cancelled request (client gone) is refunded too
        await _cancel_quietly(charge, caller=caller, where=where)
        if not isinstance(exc, Exception):
            raise
        error = processing_failed(exc, where=where)
        if error is exc:
            raise
        raise error from exc
    try:
        await sync_to_async(_settle)(charge)
    except BillingUnavailable:  # the commit was not recorded: nothing is delivered, nothing charged
        await _cancel_quietly(charge, caller=caller, where=where)
        raise


async def _cancel_quietly(charge: Charge, *, caller, where: str) -> None:
    try:
        await sync_to_async(_cancel)(charge, ip=caller.ip)
    except BillingUnavailable:  # the ledger still says "not delivered": the sweeper refunds it
        log.warning("refund in %s deferred to the sweeper", where, exc_info=True)
