from django.contrib import admin

from billing.models import BillingAccount, LedgerEntry, StripeEvent, Subscription


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "membership", "credits", "period_start", "period_end", "stripe_customer_id")
    search_fields = ("user__email", "stripe_customer_id")
    readonly_fields = ("version", "updated_at")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("stripe_id", "user", "status", "plan_slug", "current_period_start", "current_period_end")
    list_filter = ("status", "plan_slug")
    search_fields = ("stripe_id", "user__email")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only; corrections are new rows written by code."""

    list_display = ("created_at", "user", "kind", "bucket", "source", "credits", "idempotency_key")
    list_filter = ("kind", "bucket", "source")
    search_fields = ("idempotency_key", "reference", "user__email")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "created", "received_at", "processed_at")
    list_filter = ("type",)
    search_fields = ("event_id",)
