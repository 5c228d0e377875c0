"""Credits: reserve one atomically, then commit it, or refund it when the job fails.

One Lua script decides everything a charge needs in a single Redis round trip, so concurrent
requests can never spend more credits than exist:

* the window: the Stripe period when `billing_period_start/end` exist and `now` lies inside,
  else the UTC calendar month;
* included credits left = `credits` − (app + api usage of that window), spent first;
  otherwise one prepaid credit; otherwise NoCreditsLeft;
* it bumps the month, the cycle and the day counters of the caller's source together (the
  calendar month also gets a `cycle:{monthStart}` key so `listBillingCycles` sees unsynced months);
* it records the reservation (a hash plus a deadline in a sorted set) for commit/refund and the
  sweeper.

Every charge and refund is also a ledger row (billing/ledger.py).
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError

from billing import ledger, metrics
from billing import redis_client as rc
from billing.errors import BillingUnavailable, NoCreditsLeft
from billing.plans import plan_free
from billing.windows import month_bounds, now_utc

log = logging.getLogger(__name__)

SOURCES = ("app", "api")
SETTLED_TTL = 7 * 86400  # settled reservations stay readable for idempotent retries and audit

_RESERVE = """
local prefix, source, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local year, month, month_start, day = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local default_credits, res_key, res_id = tonumber(ARGV[8]), ARGV[9], ARGV[10]
local deadline, counter_ttl, pending_key = ARGV[11], tonumber(ARGV[12]), ARGV[13]

local fields = {'state', 'bucket', 'window_start', 'synced', 'year', 'month', 'day', 'attempt', 'source'}
local old = redis.call('HMGET', res_key, unpack(fields))
if old[1] and old[1] ~= 'refunded' then
  -- same idempotency key again: hand back the reservation, never charge twice
  return {'existing', unpack(old)}
end

local function num(key) return tonumber(redis.call('GET', key)) or 0 end

local ps_raw = redis.call('GET', prefix .. 'billing_period_start')
local ps, pe = tonumber(ps_raw), tonumber(redis.call('GET', prefix .. 'billing_period_end'))
local synced, window_start, used = '0', month_start, 0
if ps and pe and ps <= now and now <= pe then
  synced, window_start = '1', ps_raw
  used = num(prefix .. 'app_usage:cycle:' .. ps_raw) + num(prefix .. 'api_usage:cycle:' .. ps_raw)
else
  local suffix = '_usage:' .. year .. ':' .. month
  used = num(prefix .. 'app' .. suffix) + num(prefix .. 'api' .. suffix)
end

local credits = tonumber(redis.call('GET', prefix .. 'credits')) or default_credits
local bucket = 'included'
if credits - used <= 0 then
  if num(prefix .. 'prepaid_credits') <= 0 then return {'none'} end
  redis.call('DECR', prefix .. 'prepaid_credits')
  bucket = 'prepaid'
end

local month_key = prefix .. source .. '_usage:' .. year .. ':' .. month
local cycle_key = prefix .. source .. '_usage:cycle:' .. window_start
local day_key = prefix .. source .. '_usage:day:' .. day
local cycles_key = prefix .. 'billing_cycles'  -- index of cycle keys, for listBillingCycles
redis.call('ZADD', cycles_key, window_start, window_start)
for _, key in ipairs({month_key, cycle_key, day_key, cycles_key}) do
  if key ~= cycles_key then redis.call('INCR', key) end
  redis.call('EXPIRE', key, counter_ttl)
end

local attempt = tostring((tonumber(old[8]) or 0) + 1)
redis.call('PERSIST', res_key)
redis.call('HSET', res_key, 'state', 'reserved', 'bucket', bucket, 'window_start', window_start,
  'synced', synced, 'year', year, 'month', month, 'day', day, 'attempt', attempt, 'source', source,
  'month_key', month_key, 'cycle_key', cycle_key, 'day_key', day_key, 'deadline', deadline)
redis.call('ZADD', pending_key, deadline, res_id)
return {'ok', 'reserved', bucket, window_start, synced, year, month, day, attempt, source}
"""

# Reverses exactly what the reservation took; a second call finds state ~= reserved and does nothing.
_REFUND = """
local res_key, pending_key, res_id, prefix, settled_ttl = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
local r = redis.call('HMGET', res_key, 'state', 'bucket', 'month_key', 'cycle_key', 'day_key')
if not r[1] then return 'missing' end
if r[1] ~= 'reserved' then return r[1] end
for _, key in ipairs({r[3], r[4], r[5]}) do
  if (tonumber(redis.call('GET', key)) or 0) > 0 then redis.call('DECR', key) end
end
if r[2] == 'prepaid' then redis.call('INCR', prefix .. 'prepaid_credits') end
redis.call('HSET', res_key, 'state', 'refunded')
redis.call('EXPIRE', res_key, settled_ttl)
redis.call('ZREM', pending_key, res_id)
return 'refunded_now'
"""

_COMMIT = """
local res_key, pending_key, res_id, settled_ttl = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local state = redis.call('HGET', res_key, 'state')
if not state then return 'missing' end
if state ~= 'reserved' then return state end
redis.call('HSET', res_key, 'state', 'committed')
redis.call('EXPIRE', res_key, settled_ttl)
redis.call('ZREM', pending_key, res_id)
return 'committed_now'
"""

def _script(source: str):
    # A Script runs EVALSHA and falls back to EVAL when Redis lost its script cache (a restart).
    # Built per call (a SHA-1 of a short string) so it always uses the current settings' client.
    return rc.client_get().register_script(source)


@dataclass(frozen=True)
class Reservation:
    id: str
    user_id: int
    source: str  # "app" | "api"
    bucket: str  # "included" | "prepaid"
    window_start: int  # the cycle key the credit counted in
    synced: bool  # window is a Stripe period
    year: int
    month: int
    day: str  # YYYY-MM-DD (UTC)
    attempt: int  # n-th charge under this id (a refunded id may be charged again)
    state: str = "reserved"

    @property
    def charge_key(self) -> str:
        return f"charge:{self.id}:{self.attempt}"

    @property
    def refund_key(self) -> str:
        return f"refund:{self.id}:{self.attempt}"


def _reservation_from(res_id: str, user_id: int, values: list) -> Reservation:
    state, bucket, window_start, synced, year, month, day, attempt, source = values
    return Reservation(
        id=res_id, user_id=user_id, source=source, bucket=bucket, window_start=int(window_start),
        synced=synced == "1", year=int(year), month=int(month), day=day, attempt=int(attempt), state=state,
    )


def credits_reserve(*, user_id: int, source: str, idempotency_key: str | None = None,
                    now: datetime | None = None) -> Reservation:
    """Take one credit for `user_id` or raise NoCreditsLeft (429) / BillingUnavailable (503).

    With an `idempotency_key`, reserving again returns the same reservation without charging,
    unless that reservation was refunded (then it is a new charge).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    now = now_utc(now)
    ts = int(now.timestamp())
    res_id = f"{user_id}:{idempotency_key or uuid.uuid4().hex}"
    month_start, _ = month_bounds(now.year, now.month)
    args = [
        f"user:{user_id}:", source, ts, now.year, now.month, month_start, now.date().isoformat(),
        plan_free().credits, rc.reservation_key(res_id), res_id, ts + settings.BILLING_RESERVATION_TIMEOUT,
        settings.BILLING_COUNTER_TTL_DAYS * 86400, rc.PENDING_KEY,
    ]
    with rc.unavailable_on_error():
        result = _script(_RESERVE)(keys=[], args=args)
    if result[0] == "none":
        raise NoCreditsLeft()
    reservation = _reservation_from(res_id, user_id, result[1:])
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
    with rc.unavailable_on_error():
        result = _script(_REFUND)(
            keys=[rc.reservation_key(reservation.id), rc.PENDING_KEY],
            args=[reservation.id, f"user:{reservation.user_id}:", SETTLED_TTL],
        )
    return result == "refunded_now"


def credits_commit(*, reservation: Reservation) -> bool:
    """Settle the charge. Returns False when it was already settled (committed or refunded)."""
    with rc.unavailable_on_error():
        result = _script(_COMMIT)(
            keys=[rc.reservation_key(reservation.id), rc.PENDING_KEY], args=[reservation.id, SETTLED_TTL]
        )
    if result == "refunded":
        log.warning("reservation %s was refunded (swept?) before commit", reservation.id)
    if result == "committed_now":
        metrics.credit_charged(reservation=reservation)
    return result == "committed_now"


def credits_refund(*, reservation: Reservation) -> bool:
    """Give the credit back to the bucket it came from. Idempotent: returns True only the first time."""
    refunded = _refund_redis(reservation)
    if refunded:
        _refund_ledger(reservation)
        metrics.credit_refunded(reservation=reservation)
    return refunded


def _refund_ledger(reservation: Reservation) -> None:
    try:
        ledger.refund_record(reservation=reservation)
    except DatabaseError:
        # Redis already gave the credit back; the sweeper writes the missing row later.
        log.exception("ledger refund row failed for %s; queued for the sweeper", reservation.id)
        with rc.unavailable_on_error():
            rc.client_get().sadd(LEDGER_RETRY_KEY, reservation.id)


LEDGER_RETRY_KEY = "billing:ledger:retry"


def reservation_load(reservation_id: str) -> Reservation | None:
    fields = ["state", "bucket", "window_start", "synced", "year", "month", "day", "attempt", "source"]
    values = rc.call(lambda r: r.hmget(rc.reservation_key(reservation_id), fields))
    if values[0] is None:
        return None
    return _reservation_from(reservation_id, int(reservation_id.split(":", 1)[0]), values)


def reservations_sweep(*, now: datetime | None = None) -> int:
    """Refund reservations whose deadline passed (their process died), and write ledger rows a
    database outage left missing. Returns how many reservations were refunded."""
    ts = int(now_utc(now).timestamp())
    expired = rc.call(lambda r: r.zrangebyscore(rc.PENDING_KEY, "-inf", ts))
    refunded = 0
    for res_id in expired:
        # Redis replies are str (decode_responses=True); redis-py types them bytes | str.
        reservation = reservation_load(res_id)  # type: ignore[arg-type]
        if reservation is None:
            # mypy cannot infer a lambda with a default argument (binds the loop variable, ruff B023).
            rc.call(lambda r, res_id=res_id: r.zrem(rc.PENDING_KEY, res_id))  # type: ignore[misc]
            continue
        ledger.charge_record(reservation=reservation)  # the reserving process may have died before it
        if _refund_redis(reservation):
            ledger.refund_record(reservation=reservation)
            refunded += 1
    for res_id in rc.call(lambda r: r.smembers(LEDGER_RETRY_KEY)):
        reservation = reservation_load(res_id)  # type: ignore[arg-type]  # str, as above
        if reservation is not None and reservation.state == "refunded":
            ledger.charge_record(reservation=reservation)
            ledger.refund_record(reservation=reservation)
        rc.call(lambda r, res_id=res_id: r.srem(LEDGER_RETRY_KEY, res_id))  # type: ignore[misc]  # as above
    return refunded
