"""GET /api/membership-usage: plan, balances and usage. SPEC §3."""

from django.http import JsonResponse
from ninja import Query, Router, Schema

from api.auth import ApiKey
from api.schemas import ERRORS_USAGE, BillingCyclesOut, MembershipUsageOut
from billing.usage import membership_usage

router = Router(tags=["Account"])


class UsageQuery(Schema):
    # Declared as strings so that a bad value reaches the billing service, which answers
    # every mode's errors in SPEC's JSON shape; the types below are for the reference.
    year: str | None = None
    month: str | None = None
    periodStartUnix: str | None = None
    expand: str | None = None
    includeBillingCycle: str | None = None
    listBillingCycles: str | None = None


@router.get(
    "/api/membership-usage",
    auth=ApiKey(required=True),
    response={200: MembershipUsageOut | BillingCyclesOut} | ERRORS_USAGE,
    summary="Plan, credit balances and usage for a month or billing cycle",
)
def membership_usage_get(request, query: Query[UsageQuery]):
    params = {key: value for key, value in request.GET.items()}
    return JsonResponse(membership_usage(user_id=request.auth.user.id, params=params))
