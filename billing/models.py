"""Durable billing records. Redis holds the fast counters; these rows are the truth it is
rebuilt from (see billing/ledger.py and `manage.py rebuild_usage`)."""

from django.conf import settings
from django.db import models


class BillingAccount(models.Model):
    """A user's current plan and billing window, as the Stripe webhooks last wrote it.

    No row = the free plan with the calendar month as the window.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="billing_account")
    stripe_customer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    plan_slug = models.CharField(max_length=50)
    membership = models.CharField(max_length=100)  # the plan label mirrored to Redis
    credits = models.PositiveIntegerField()  # included credits per window
    period_start = models.BigIntegerField(null=True, blank=True)  # unix seconds
    period_end = models.BigIntegerField(null=True, blank=True)  # unix seconds, last second of the window
    # Bumped on every change; Redis keeps the version it last applied so a slow writer cannot
    # overwrite a newer state with an older one.
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.membership}"


class Subscription(models.Model):
    stripe_id = models.CharField(max_length=255, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="subscriptions")
    status = models.CharField(max_length=32)
    plan_slug = models.CharField(max_length=50, blank=True)
    price_id = models.CharField(max_length=255, blank=True)
    current_period_start = models.BigIntegerField(null=True, blank=True)
    current_period_end = models.BigIntegerField(null=True, blank=True)
    # `created` of the Stripe event that last wrote status/plan: older events never roll it back.
    state_event_created = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.stripe_id} ({self.status})"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        CHARGE = "charge"
        REFUND = "refund"
        PLAN_GRANT = "plan_grant"
        PACK_GRANT = "pack_grant"
        ADMIN_GRANT = "admin_grant"  # prepaid credits given by staff (billing.grants.credits_grant)

    class Bucket(models.TextChoices):
        INCLUDED = "included"
        PREPAID = "prepaid"

    class State(models.TextChoices):
        """A charge's life: written `reserved` before the work, then settled exactly once. This row,
        not Redis, decides: only `committed` charges count as used (billing/rebuild.py)."""
        RESERVED = "reserved"
        COMMITTED = "committed"
        REFUNDED = "refunded"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="ledger_entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    bucket = models.CharField(max_length=16, choices=Bucket.choices)
    source = models.CharField(max_length=8, blank=True)  # "app" | "api" for charges and refunds
    credits = models.IntegerField()  # signed change to the bucket: charge −1, refund +1, grants +N
    state = models.CharField(max_length=16, choices=State.choices, blank=True)  # charges only
    idempotency_key = models.CharField(max_length=255, unique=True)
    reference = models.CharField(max_length=255, blank=True)  # reservation id, Stripe object id
    period_start = models.BigIntegerField(null=True, blank=True)  # the window (cycle key) it counted in
    period_end = models.BigIntegerField(null=True, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    month = models.PositiveSmallIntegerField(null=True, blank=True)
    day = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "kind"]),
                   models.Index(fields=["kind", "state", "created_at"])]  # the sweeper's query
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.kind} {self.credits:+d} {self.bucket} user={self.user_id}"


class StripeEvent(models.Model):
    """Every Stripe event id we have seen; the unique id turns replays into no-ops."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    created = models.BigIntegerField()
    livemode = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
