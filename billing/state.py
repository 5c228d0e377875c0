"""A user's plan state: the database row webhooks write, mirrored to the SPEC §2 Redis keys."""

from typing import cast

from django.db import IntegrityError
from django.db.models import F, Q

from billing import redis_client as rc
from billing.errors import BillingUnavailable
from billing.models import BillingAccount
from billing.plans import Plan, plan_by_label, plan_free

# Writes membership/credits/period only if this account version is newer than the one Redis has.
# KEYS: 1 billing_version 2 membership 3 credits 4 billing_period_start 5 billing_period_end
# ARGV: 1 version 2 force 3 membership 4 credits 5 period start ('' = none) 6 period end
_SYNC = """
local version, force = tonumber(ARGV[1]), ARGV[2]
local stored = tonumber(redis.call('GET', KEYS[1])) or -1
if force ~= '1' and stored > version then return 0 end
redis.call('SET', KEYS[1], version)
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4])
if ARGV[5] == '' then
  redis.call('DEL', KEYS[4], KEYS[5])
else
  redis.call('SET', KEYS[4], ARGV[5])
  redis.call('SET', KEYS[5], ARGV[6])
end
return 1
"""
_SYNC_KEYS = ("billing_version", "membership", "credits", "billing_period_start", "billing_period_end")

# Adds a prepaid grant once: the marker key makes a retried webhook (or a crash between the ledger
# row and this call, then a retry) add the credits exactly once.
_PREPAID_GRANT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  return redis.call('INCRBY', KEYS[2], ARGV[1])
end
return false
"""


def account_get_or_create(*, user_id: int) -> BillingAccount:
    free = plan_free()
    defaults = {"plan_slug": free.slug, "membership": free.label, "credits": free.credits}
    try:
        account, _ = BillingAccount.objects.get_or_create(user_id=user_id, defaults=defaults)
    except IntegrityError:  # a concurrent webhook created it first
        account = BillingAccount.objects.get(user_id=user_id)
    return account


def account_write(*, user_id: int, fields: dict, not_before: int | None = None) -> bool:
    """Change the account in one conditional UPDATE (bumping its version) and mirror it to Redis.

    With `not_before`, the write only happens if the stored window starts at or before it, so an
    older event can never move the billing window back. Returns whether anything was written.
    """
    account_get_or_create(user_id=user_id)
    rows = BillingAccount.objects.filter(user_id=user_id)
    if not_before is not None:
        rows = rows.filter(Q(period_start__isnull=True) | Q(period_start__lte=not_before))
    if not rows.update(version=F("version") + 1, **fields):
        return False
    account_redis_sync(account=BillingAccount.objects.get(user_id=user_id))
    return True


def account_redis_sync(*, account: BillingAccount, force: bool = False) -> bool:
    client = rc.client_get()
    with rc.unavailable_on_error():
        written = client.register_script(_SYNC)(
            keys=[rc.user_key(account.user_id, name) for name in _SYNC_KEYS],
            args=[account.version, "1" if force else "0", account.membership, account.credits,
                  "" if account.period_start is None else account.period_start,
                  "" if account.period_end is None else account.period_end],
        )
    return bool(written)


def prepaid_grant_apply(*, user_id: int, idempotency_key: str, credits: int) -> bool:
    from django.conf import settings

    client = rc.client_get()
    with rc.unavailable_on_error():
        result = client.register_script(_PREPAID_GRANT)(
            keys=[rc.applied_key(idempotency_key), rc.user_key(user_id, "prepaid_credits")],
            args=[credits, settings.BILLING_COUNTER_TTL_DAYS * 86400],
        )
    return result is not None


def membership_label(*, user_id: int) -> str:
    """The plan label for display (templates use billing_tags.plan_label). Falls back to the database
    when Redis is unreachable: a page header should not fail because the counters are down."""
    try:
        # Redis replies are str (decode_responses=True); redis-py types them bytes | str.
        label = cast(str | None, rc.call(lambda r: r.get(rc.user_key(user_id, "membership"))))
    except BillingUnavailable:
        label = None
    if label:
        return label
    account = BillingAccount.objects.filter(user_id=user_id).first()
    return account.membership if account else plan_free().label


def account_known(*, user_id: int) -> dict:
    """What the database alone says about a user's credits, for when Redis is unreachable: the plan
    and its included credits (the account row), and the prepaid balance (the ledger). How much of
    the window is used lives in Redis counters, so it is not here."""
    from billing.ledger import prepaid_balance

    account = BillingAccount.objects.filter(user_id=user_id).first()
    free = plan_free()
    return {"membership": account.membership if account else free.label,
            "includedCredits": account.credits if account else free.credits,
            "prepaidCredits": prepaid_balance(user_id=user_id)}


def plan_for_membership(label: str | None) -> Plan:
    return (plan_by_label(label) if label else None) or plan_free()
