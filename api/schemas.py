"""Response schemas: what the OpenAPI document promises each endpoint returns.

Every membership-usage field carries a description: `credits` (the plan's allowance) next to
"43 left" on the usage page is otherwise easy to misread.
"""

from ninja import Field, Schema


class FieldErrorOut(Schema):
    field: str = Field(description="The form field or query parameter at fault")
    message: str = Field(description="What is wrong with it")


class ErrorOut(Schema):
    error: str = Field(description="What went wrong (the one message, or 'Multiple validation errors')")
    details: list[FieldErrorOut] | None = Field(None, description="Every field error, if any")
    status: int = Field(description="The HTTP status, repeated")


class BillingCycleOut(Schema):
    periodStartUnix: int = Field(description="Start of the billing window (unix seconds, UTC)")
    periodEndUnix: int = Field(description="End of the window, just before renewal (unix seconds)")
    appUsage: int = Field(description="Images processed in the web editor in this window")
    apiUsage: int = Field(description="Images processed with API keys in this window")
    includedCredits: int = Field(description="Credits the plan includes per window (the allowance)")
    prepaidCredits: int = Field(description="Prepaid credits left now; they never reset")
    usedIncludedCredits: int = Field(description="appUsage + apiUsage: included credits spent this window")
    remainingIncludedCredits: int = Field(
        description="max(0, includedCredits − usedIncludedCredits): included credits still to spend")
    stripeBillingSynced: bool = Field(
        description="true: the window is your Stripe subscription period; false: the UTC calendar month")


class MembershipUsageOut(Schema):
    membership: str = Field(description="Your plan's label, e.g. Free or Premium-20000")
    credits: int = Field(
        description="Credits your plan includes per billing window: the allowance, not what is left. "
                    "Left = credits − (app_usage + api_usage) of the current window; see "
                    "billingCycle.remainingIncludedCredits")
    prepaidCredits: int = Field(description="Prepaid credits left, spent after included ones; never reset")
    app_usage: int = Field(
        description="Images processed in the web editor in the requested month (or periodStartUnix window)")
    api_usage: int = Field(
        description="Images processed with API keys in the requested month (or periodStartUnix window); "
                    "test keys are not counted")
    billingCycle: BillingCycleOut | None = Field(
        None, description="The current (or requested) billing window; only with expand=billing_cycle")


class BillingCycleRowOut(Schema):
    periodStartUnix: int = Field(description="Start of the window (unix seconds, UTC)")
    periodEndUnix: int = Field(description="End of the window (unix seconds)")
    appUsage: int = Field(description="Images processed in the web editor in the window")
    apiUsage: int = Field(description="Images processed with API keys in the window")


class BillingCyclesOut(Schema):
    billingCycles: list[BillingCycleRowOut] = Field(description="Every billing window, newest first")


# 409/422: Idempotency-Key conflicts; 502/504: an image_url download failed or was too slow.
ERRORS_RMBG = {code: ErrorOut for code in (400, 401, 403, 409, 422, 429, 500, 502, 503, 504)}
ERRORS_USAGE = {code: ErrorOut for code in (400, 401, 403, 500, 503)}
