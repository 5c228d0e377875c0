"""Response schemas: what the OpenAPI document promises each endpoint returns."""

from ninja import Schema


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    error: str
    details: list[FieldErrorOut] | None = None
    status: int


class BillingCycleOut(Schema):
    periodStartUnix: int
    periodEndUnix: int
    appUsage: int
    apiUsage: int
    includedCredits: int
    prepaidCredits: int
    usedIncludedCredits: int
    remainingIncludedCredits: int
    stripeBillingSynced: bool


class MembershipUsageOut(Schema):
    membership: str
    credits: int
    prepaidCredits: int
    app_usage: int
    api_usage: int
    billingCycle: BillingCycleOut | None = None


class BillingCycleRowOut(Schema):
    periodStartUnix: int
    periodEndUnix: int
    appUsage: int
    apiUsage: int


class BillingCyclesOut(Schema):
    billingCycles: list[BillingCycleRowOut]


ERRORS_RMBG = {code: ErrorOut for code in (400, 401, 403, 429, 500, 503)}
ERRORS_USAGE = {code: ErrorOut for code in (400, 401, 403, 500, 503)}
