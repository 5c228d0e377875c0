"""Billing's domain errors. The API and the editor render them; nothing here knows about HTTP
beyond the status code and header values each error carries."""

from core.errors import DomainError


class BillingError(DomainError):
    status = 400
    message = "Billing error"


class NoCreditsLeft(BillingError):
    status = 429
    message = "You've reached your monthly limit. Consider purchasing more credits."


class BillingUnavailable(BillingError):
    """Redis (or the ledger database) cannot be reached: nothing may be processed unmetered."""

    status = 503
    message = "Service temporarily unavailable, please retry shortly."


class RateLimited(BillingError):
    status = 429
    message = "You're making requests too quickly, Please Upgrade or slow down."


class DailyLimitReached(BillingError):
    status = 429
    message = "You've reached your daily limit. Please sign up for more access."


class BillingOff(BillingError):
    status = 503
    message = "Billing is off: this server has no Stripe keys configured."


class PaymentProviderError(BillingError):
    status = 502
    message = "The payment provider could not be reached, please retry shortly."


class WebhookInvalid(BillingError):
    status = 400
    message = "Invalid webhook signature or payload"


class WebhookNotReady(BillingError):
    """An event names a customer/subscription we cannot link to a user yet (its checkout event has
    not arrived). Answering non-2xx makes Stripe retry it later instead of losing it."""

    status = 409
    message = "Event refers to a customer not linked yet; retry later"


class PlanUnknown(BillingError):
    status = 404
    message = "Unknown plan or pack"


class GrantInvalid(BillingError):
    status = 400
    message = "A grant needs between 1 and 1,000,000 credits and a reason."
