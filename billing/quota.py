"""Credits: reserve one atomically, then commit it, or refund it when the job fails.

One Lua script decides everything a charge needs in a single Redis round trip, so concurrent
requests can never spend more credits than exist:

* the window: the Stripe period when `billing_period_start/end` exist and `now` lies inside,
  else the UTC calendar month (billing/windows.py makes the same decision for reading);
* included credits left = `credits` − (app + api usage of that window), spent first;
  otherwise one prepaid credit; otherwise NoCreditsLeft;
* it bumps the month, the cycle and the day counters of the caller's source together (the
  calendar month also gets a `cycle:{monthStart}` key so `listBillingCycles` sees unsynced months);
* it records the reservation (a hash plus a deadline in a sorted set) for commit/refund and the
  sweeper.

Key names come from billing/redis_client.py and reach the scripts through KEYS[] only. The window
depends on the stored period, which Python reads first; the script re-checks it and asks for a retry
when a webhook moved it in between.

The ledger row of a charge (billing/ledger.py) is the durable decision: written `reserved` before
any work, settled `committed` when the image is delivered (then Redis follows), `refunded` when it
is not. Redis is the fast path; billing/sweep.py reconciles it with the ledger.
"""

import logging
import uuid
from datetime import datetime
from typing import cast

from django.conf import settings
from django.db import DatabaseError

from billing import ledger, metrics
from billing import redis_client as rc
from billing.errors import BillingUnavailable, NoCreditsLeft
from billing.models import LedgerEntry
from billing.plans import plan_free
from billing.reservation import FIELDS, Reservation, reservation_from
from billing.windows import current_window, now_utc

log = logging.getLogger(__name__)

SOURCES = ("app", "api")
SETTLED_TTL = 7 * 86400  # settled reservations stay readable for idempotent retries and audit
_RETRIES = 3  # a webhook moving the billing period between our read and the script

# KEYS: 1 period_start 2 period_end 3 credits 4 prepaid 5 used_app 6 used_api 7 month 8 cycle 9 day
#       10 cycles_index 11 reservation 12 pending
# ARGV: 1 expected period_start ('' = none) 2 expected period_end 3 default credits 4 window start
#       5 synced 6 reservation id 7 deadline 8 counter ttl 9 source 10 year 11 month 12 day
_RESERVE = """
local old = redis.call('HMGET', KEYS[11], 'state', 'bucket', 'window_start', 'synced', 'year', 'month',
  'day', 'attempt', 'source')
if old[1] and old[1] ~= 'refunded' then
  -- same idempotency key again: hand back the reservation, never charge twice
  return {'existing', unpack(old)}
end
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] or (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then
  return {'retry'}
end

local function num(key) return tonumber(redis.call('GET', key)) or 0 end
local used = num(KEYS[5]) + num(KEYS[6])
local credits = tonumber(redis.call('GET', KEYS[3])) or tonumber(ARGV[3])
local bucket = 'included'
if credits - used <= 0 then
  if num(KEYS[4]) <= 0 then return {'none'} end
  redis.call('DECR', KEYS[4])
  bucket = 'prepaid'
end

local ttl = tonumber(ARGV[8])
for i = 7, 9 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ttl)
end
redis.call('ZADD', KEYS[10], ARGV[4], ARGV[4])
redis.call('EXPIRE', KEYS[10], ttl)

local attempt = tostring((tonumber(old[8]) or 0) + 1)
redis.call('PERSIST', KEYS[11])
redis.call('HSET', KEYS[11], 'state', 'reserved', 'bucket', bucket, 'window_start', ARGV[4],
  'synced', ARGV[5], 'year', ARGV[10], 'month', ARGV[11], 'day', ARGV[12], 'attempt', attempt,
  'source', ARGV[9], 'deadline', ARGV[7])
redis.call('ZADD', KEYS[12], ARGV[7], ARGV[6])
return {'ok', 'reserved', bucket, ARGV[4], ARGV[5], ARGV[10], ARGV[11], ARGV[12], attempt, ARGV[9]}
"""

# Reverses exactly what the reservation took; a second call finds state ~= reserved and does nothing.
# KEYS: 1 reservation 2 pending 3 prepaid 4 month 5 cycle 6 day. ARGV: 1 reservation id 2 settled ttl
_REFUND = """
local r = redis.call('HMGET', KEYS[1], 'state', 'bucket')
if not r[1] then return 'missing' end
if r[1] ~= 'reserved' then return r[1] end
for i = 4, 6 do
  if (tonumber(redis.call('GET', KEYS[i])) or 0) > 0 then redis.call('DECR', KEYS[i]) end
end
if r[2] == 'prepaid' then redis.call('INCR', KEYS[3]) end
redis.call('HSET', KEYS[1], 'state', 'refunded')
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
return 'refunded_now'
"""

# KEYS: 1 reservation 2 pending. ARGV: 1 reservation id 2 settled ttl
_COMMIT = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if state ~= 'reserved' then return state end
redis.call('HSET', KEYS[1], 'state', 'committed')
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
return 'committed_now'
"""


def _script(source: str):
    # A Script runs EVALSHA and falls back to EVAL when Redis lost its script cache (a restart).
    # Built per call (a SHA-1 of a short string) so it always uses the current settings' client.
    return rc.client_get().register_script(source)


def _reserve_keys(*, user_id: int, source: str, now: datetime,
                  period: list[str | None]) -> tuple[list, list]:
    """KEYS and the window ARGV of the reserve script for the period stored as `period`."""
    start, end = (int(value) if value else None for value in period)
    window = current_window(period_start=start, period_end=end, now=now)
    if window.synced:
        used = [rc.usage_cycle_key(user_id, s, window.start) for s in SOURCES]
    else:
        used = [rc.usage_month_key(user_id, s, now.year, now.month) for s in SOURCES]
    keys = [
        rc.user_key(user_id, "billing_period_start"), rc.user_key(user_id, "billing_period_end"),
        rc.user_key(user_id, "credits"), rc.user_key(user_id, "prepaid_credits"), *used,
        rc.usage_month_key(user_id, source, now.year, now.month),
        rc.usage_cycle_key(user_id, source, window.start),
        rc.usage_day_key(user_id, source, now.date().isoformat()),
        rc.cycles_index_key(user_id),
    ]
    return keys, [window.start, "1" if window.synced else "0"]


def _reserve_redis(*, user_id: int, source: str, res_id: str, now: datetime) -> list:
    ts = int(now.timestamp())
    for _ in range(_RETRIES):
        period = cast(list[str | None], rc.call(lambda r: r.mget(rc.user_key(user_id, "billing_period_start"),
                                                                rc.user_key(user_id, "billing_period_end"))))
        keys, (window_start, synced) = _reserve_keys(user_id=user_id, source=source, now=now, period=period)
        args = [period[0] or "", period[1] or "", plan_free().credits, window_start, synced, res_id,
                ts + settings.BILLING_RESERVATION_TIMEOUT, settings.BILLING_COUNTER_TTL_DAYS * 86400,
                source, now.year, now.month, now.date().isoformat()]
        with rc.unavailable_on_error():
            result = _script(_RESERVE)(keys=[*keys, rc.reservation_key(res_id), rc.PENDING_KEY], args=args)
        if result[0] != "retry":
            return result
    raise BillingUnavailable()  # the period kept moving under us: let the client retry


def credits_reserve(*, user_id: int, source: str, idempotency_key: str | None = None,
                    now: datetime | None = None) -> Reservation:
    """Take one credit for `user_id` or raise NoCreditsLeft (429) / BillingUnavailable (503).

    With an `idempotency_key`, reserving again returns the same reservation without charging,
    unless that reservation was refunded (then it is a new charge).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    now = now_utc(now)
    res_id = f"{user_id}:{idempotency_key or uuid.uuid4().hex}"
    result = _reserve_redis(user_id=user_id, source=source, res_id=res_id, now=now)
    if result[0] == "none":
        raise NoCreditsLeft()
    reservation = reservation_from(res_id, user_id, result[1:])
    try:
        ledger.charge_record(reservation=reservation)
    except DatabaseError as exc:
        # No durable record, no processing: give the credit back and fail closed.
        log.exception("ledger write failed for reservation %s", res_id)
        if reservation.state == "reserved":
            _refund_redis(reservation)
        raise BillingUnavailable() from exc
    return reservation


def _refund_redis(reservation: Reservation) -> bool:
    uid = reservation.user_id
    keys = [rc.reservation_key(reservation.id), rc.PENDING_KEY, rc.user_key(uid, "prepaid_credits"),
            rc.usage_month_key(uid, reservation.source, reservation.year, reservation.month),
            rc.usage_cycle_key(uid, reservation.source, reservation.window_start),
            rc.usage_day_key(uid, reservation.source, reservation.day)]
    with rc.unavailable_on_error():
        result = _script(_REFUND)(keys=keys, args=[reservation.id, SETTLED_TTL])
    return result == "refunded_now"


def commit_redis(reservation: Reservation) -> str:
    with rc.unavailable_on_error():
        return _script(_COMMIT)(keys=[rc.reservation_key(reservation.id), rc.PENDING_KEY],
                                args=[reservation.id, SETTLED_TTL])


def credits_commit(*, reservation: Reservation) -> bool:
    """Settle the charge: the image is being delivered. Returns False when it was already settled.

    The ledger row decides (BillingUnavailable when the database cannot record it: then nothing may
    be delivered). Redis follows; when it cannot, the charge stands and billing/sweep.py settles the
    Redis reservation from the ledger later.
    """
    try:
        state = ledger.charge_settle(reservation=reservation, state=LedgerEntry.State.COMMITTED)
    except DatabaseError as exc:
        log.exception("ledger commit failed for reservation %s", reservation.id)
        raise BillingUnavailable() from exc
    if state != LedgerEntry.State.COMMITTED:
        log.warning("reservation %s was %s (swept?) before commit", reservation.id, state or "unrecorded")
        raise BillingUnavailable()
    try:
        result = commit_redis(reservation)
    except BillingUnavailable:
        log.warning("commit of %s reached the ledger but not Redis; the sweeper settles it",
                    reservation.id, exc_info=True)
        result = "committed_now"
    if result == "committed_now":
        metrics.credit_charged(reservation=reservation)
    return result == "committed_now"


def credits_refund(*, reservation: Reservation) -> bool:
    """Give the credit back unless the charge was already delivered. Idempotent: True only the first time.

    The ledger settles first; when the database is down, Redis still refunds (a failure costs
    nothing) and the sweeper writes the ledger side later.
    """
    try:
        state = ledger.charge_settle(reservation=reservation, state=LedgerEntry.State.REFUNDED)
    except DatabaseError:
        log.exception("ledger refund failed for %s; queued for the sweeper", reservation.id)
        state = LedgerEntry.State.REFUNDED
        rc.call(lambda r: r.sadd(rc.LEDGER_RETRY_KEY, reservation.id))
    if state == LedgerEntry.State.COMMITTED:
        log.warning("refund of %s refused: the image was delivered and charged", reservation.id)
        return False
    refunded = _refund_redis(reservation)
    if refunded:
        _refund_row(reservation)
        metrics.credit_refunded(reservation=reservation)
    return refunded


def _refund_row(reservation: Reservation) -> None:
    try:
        ledger.refund_record(reservation=reservation)
    except DatabaseError:
        log.exception("ledger refund row failed for %s; queued for the sweeper", reservation.id)
        rc.call(lambda r: r.sadd(rc.LEDGER_RETRY_KEY, reservation.id))


def reservation_load(reservation_id: str) -> Reservation | None:
    values = rc.call(lambda r: r.hmget(rc.reservation_key(reservation_id), FIELDS))
    if values[0] is None:
        return None
    return reservation_from(reservation_id, int(reservation_id.split(":", 1)[0]), values)
