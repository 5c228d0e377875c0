"""GET /api/membership-usage: plan, balances and usage. SPEC §3.

The query is parsed at the edge by its schema (billing.usage_query.UsageQuery); the billing service
receives typed values.
"""

from django.http import JsonResponse
from ninja import Query, Router

from api.auth import ApiKey
from api.schemas import ERRORS_USAGE, BillingCyclesOut, MembershipUsageOut
from billing.usage import billing_cycles_list, membership_usage
from billing.usage_query import UsageQuery

router = Router(tags=["Account"])

@router.get(
    "/api/membership-usage",
    auth=ApiKey(required=True),
    response={200: MembershipUsageOut | BillingCyclesOut} | ERRORS_USAGE,
    summary="Plan, credit balances and usage for a month or billing cycle",
)
def membership_usage_get(request, query: Query[UsageQuery]):
    user_id = request.auth.user.id
    if query.listBillingCycles:
        return JsonResponse({"billingCycles": billing_cycles_list(user_id=user_id)})
    # JsonResponse, not the schema: `billingCycle` is absent (not null) unless asked for.
    return JsonResponse(membership_usage(user_id=user_id, year=query.year, month=query.month,
                                         period_start=query.periodStartUnix, with_cycle=query.with_cycle))
