"""Billing in the admin: accounts, subscriptions, the read-only ledger (filterable by user and kind),
Stripe events, and billing columns plus a "Grant credits" action on the user list."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.db.models import Max
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from billing.errors import BillingError, BillingUnavailable
from billing.grants import MAX_GRANT, MAX_REASON, credits_grant
from billing.models import BillingAccount, LedgerEntry, StripeEvent, Subscription
from billing.usage import membership_usage


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

    list_display = ("created_at", "user", "kind", "bucket", "source", "credits", "reference")
    list_filter = ("kind", ("user", admin.RelatedOnlyFieldListFilter), "bucket", "source")
    list_select_related = ("user",)
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

    def has_add_permission(self, request) -> bool:
        return False  # a record of what Stripe sent: webhooks write them, people read them


class GrantCreditsForm(forms.Form):
    credits = forms.IntegerField(min_value=1, max_value=MAX_GRANT,
                                 help_text="Prepaid credits: they never reset.")
    reason = forms.CharField(max_length=MAX_REASON, help_text="Kept in the ledger with your user name.")
    token = forms.CharField(widget=forms.HiddenInput)  # one grant per form, however often it is sent


User = get_user_model()
# accounts' user admin (accounts comes first in INSTALLED_APPS); extended here so neither app imports
# the other: accounts knows nothing of billing, billing only adds its columns and action.
_BaseUserAdmin = type(admin.site.get_model_admin(User))


class BillingUserAdmin(_BaseUserAdmin):  # type: ignore[valid-type,misc]  # a base known at run time
    """The user list with each user's billing state, read through the same service as
    GET /api/membership-usage (one Redis round of reads per listed user, never a write)."""

    list_display = ("email", "plan", "credits_left", "prepaid", "last_api_use", "ledger", "is_staff",
                    "date_joined")
    actions = (*(_BaseUserAdmin.actions or ()), "grant_credits")
    list_per_page = 50  # each row reads its balances from Redis (3 commands)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(last_api_use=Max("api_keys__last_used_at"))

    def _usage(self, obj) -> dict | None:
        if not hasattr(obj, "_billing_usage"):
            try:
                obj._billing_usage = membership_usage(user_id=obj.pk, with_cycle=True)
            except BillingUnavailable:
                obj._billing_usage = None
        return obj._billing_usage

    @admin.display(description="plan")
    def plan(self, obj) -> str:
        usage = self._usage(obj)
        return usage["membership"] if usage else "—"

    @admin.display(description="credits left this window")
    def credits_left(self, obj) -> str:
        usage = self._usage(obj)
        if not usage:
            return "—"
        cycle = usage["billingCycle"]
        return f"{cycle['remainingIncludedCredits']:,} of {cycle['includedCredits']:,}"

    @admin.display(description="prepaid")
    def prepaid(self, obj) -> str:
        usage = self._usage(obj)
        return f"{usage['prepaidCredits']:,}" if usage else "—"

    @admin.display(description="last API use", ordering="last_api_use")
    def last_api_use(self, obj):
        return obj.last_api_use or "never"

    @admin.display(description="ledger")
    def ledger(self, obj) -> str:
        url = reverse("admin:billing_ledgerentry_changelist") + f"?user__id__exact={obj.pk}"
        return format_html('<a href="{}">entries</a>', url)

    @admin.action(description="Grant prepaid credits to selected users", permissions=["change"])
    def grant_credits(self, request, queryset):
        form = GrantCreditsForm(request.POST if "apply" in request.POST else None,
                                initial={"token": uuid.uuid4().hex})
        if form.is_valid():
            return self._grant(request, queryset, form.cleaned_data)
        context = {**self.admin_site.each_context(request), "title": "Grant prepaid credits", "form": form,
                   "users": queryset, "opts": self.model._meta,
                   "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME}
        return TemplateResponse(request, "admin/billing/grant_credits.html", context)

    def _grant(self, request, queryset, data: dict) -> None:
        granted = 0
        for user in queryset:
            try:
                credits_grant(user_id=user.pk, credits=data["credits"], reason=data["reason"],
                              granted_by=request.user,
                              idempotency_key=f"admin:grant:{data['token']}:{user.pk}")
            except BillingError as exc:
                self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
                continue
            granted += 1
        self.message_user(request, f"Granted {data['credits']:,} prepaid credits to {granted} user(s).")


admin.site.unregister(User)
admin.site.register(User, BillingUserAdmin)
