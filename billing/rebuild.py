"""Redis rebuilt from the database: every usage counter, prepaid balance and account state.

Only `committed` charges count (a reserved charge was never delivered; a refunded one cost
nothing), so a rebuild can never turn a failed request into a charge. Values are SET (not added):
running it twice, or on a Redis that kept part of its data, gives the same result.
"""

from collections import defaultdict

from django.conf import settings
from django.db.models import Count, Q, Sum

from billing import ledger
from billing import redis_client as rc
from billing.models import BillingAccount, LedgerEntry
from billing.state import account_redis_sync

_GRANTS = [LedgerEntry.Kind.PACK_GRANT, LedgerEntry.Kind.ADMIN_GRANT, LedgerEntry.Kind.PLAN_GRANT]


def _usage_counters() -> tuple[dict[str, int], dict[int, set[int]]]:
    counters: dict[str, int] = defaultdict(int)
    cycles: dict[int, set[int]] = defaultdict(set)
    # Every charge's keys are written (a refunded window reads 0, as Redis had it); only committed count.
    rows = (LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE)
            .values("user_id", "source", "year", "month", "period_start", "day")
            .annotate(used=Count("id", filter=Q(state=LedgerEntry.State.COMMITTED))))
    for row in rows:
        uid, source, used = row["user_id"], row["source"], row["used"]
        counters[rc.usage_month_key(uid, source, row["year"], row["month"])] += used
        counters[rc.usage_cycle_key(uid, source, row["period_start"])] += used
        counters[rc.usage_day_key(uid, source, row["day"].isoformat())] += used
        cycles[uid].add(row["period_start"])
    return counters, cycles


def _prepaid_balances() -> dict[int, int]:
    rows = ledger.prepaid_rows().values("user_id").annotate(total=Sum("credits"))
    return {row["user_id"]: row["total"] for row in rows}


def usage_rebuild() -> dict[str, int]:
    counters, cycles = _usage_counters()
    prepaid = _prepaid_balances()
    grants = LedgerEntry.objects.filter(
        kind__in=_GRANTS
    ).values_list("idempotency_key", flat=True)
    ttl = settings.BILLING_COUNTER_TTL_DAYS * 86400
    with rc.unavailable_on_error():
        pipe = rc.client_get().pipeline(transaction=False)
        for key, value in counters.items():
            pipe.set(key, max(0, value), ex=ttl)
        for uid, starts in cycles.items():
            pipe.zadd(rc.cycles_index_key(uid), {str(start): start for start in starts})
            pipe.expire(rc.cycles_index_key(uid), ttl)
        for uid, balance in prepaid.items():
            pipe.set(rc.user_key(uid, "prepaid_credits"), max(0, balance))
        for key in grants:
            pipe.set(rc.applied_key(key), 1, ex=ttl)
        pipe.execute()
    accounts = 0
    for account in BillingAccount.objects.all().iterator():
        account_redis_sync(account=account, force=True)
        accounts += 1
    return {"counters": len(counters), "prepaid": len(prepaid), "accounts": accounts}
