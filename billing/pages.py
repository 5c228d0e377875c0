"""Account pages: usage dashboard, pricing, checkout success/cancel, and the landing page.

Views are thin. Every usage number on these pages is a value from `billing.usage.membership_usage`
(the same service behind `GET /api/membership-usage`) or the daily series from
`billing.usage.usage_daily`; views only pick which window to ask for and format dates.
"""

from datetime import UTC, date, datetime, timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from pydantic import ValidationError

from billing import stripe_client
from billing.chart import axis_svg, daily_usage_svg, day_long
from billing.errors import BillingUnavailable
from billing.prices import catalogue_priced
from billing.state import account_known, membership_label
from billing.usage import billing_cycles_list, membership_usage, usage_daily
from billing.usage_query import UsageQuery
from billing.views import BILLING_OFF_MESSAGE
from core.errors import validation_failed_from

MAX_CHART_DAYS = 92  # a window longer than a quarter (yearly plans) charts its most recent 92 days


def _moment(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _day(ts: int) -> date:
    return _moment(ts).date()


def _option(cycle: dict, *, current_start: int) -> dict:
    start, end = _moment(cycle["periodStartUnix"]), _moment(cycle["periodEndUnix"])
    label = f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"
    if cycle["periodStartUnix"] == current_start:
        label += " (current)"
    return {"value": cycle["periodStartUnix"],
            "label": f"{label} · app {cycle['appUsage']}, API {cycle['apiUsage']}"}


def _picker(cycles: list[dict], current: dict) -> list[dict]:
    """listBillingCycles' windows; the current window is added when it has no usage key yet."""
    start = current["periodStartUnix"]
    if all(c["periodStartUnix"] != start for c in cycles):
        entry = {k: current[k] for k in ("periodStartUnix", "periodEndUnix", "appUsage", "apiUsage")}
        cycles = sorted([*cycles, entry], key=lambda c: c["periodStartUnix"], reverse=True)
    return [_option(c, current_start=start) for c in cycles]


def _chart_days(cycle: dict, today: date) -> tuple[date, date]:
    first, last = _day(cycle["periodStartUnix"]), min(_day(cycle["periodEndUnix"]), today)
    last = max(first, last)
    return max(first, last - timedelta(days=MAX_CHART_DAYS - 1)), last


def _usage_context(user_id: int, selected: int | None) -> dict:
    current = membership_usage(user_id=user_id, with_cycle=True)
    payload = current
    if selected is not None and selected != current["billingCycle"]["periodStartUnix"]:
        payload = membership_usage(user_id=user_id, period_start=selected, with_cycle=True)
    cycles = billing_cycles_list(user_id=user_id)
    cycle = payload["billingCycle"]
    first, last = _chart_days(cycle, datetime.now(UTC).date())
    days = usage_daily(user_id=user_id, start=first, end=last)
    return {
        "usage": payload,
        "cycle": cycle,
        "is_current": payload is current,
        "start": _moment(cycle["periodStartUnix"]),
        "end": _moment(cycle["periodEndUnix"]),
        "renewal": _moment(cycle["periodEndUnix"] + 1),  # periodEndUnix is the last second before renewal
        "options": _picker(cycles, current["billingCycle"]),
        "selected": cycle["periodStartUnix"],
        # safe: the SVG is built from integers and escaped date strings only
        "chart": mark_safe(daily_usage_svg(days)),
        "chart_axis": mark_safe(axis_svg(days)),
        "days": [d | {"label": day_long(d["date"]), "total": d["app"] + d["api"]} for d in days],
        "chart_first": first,
        "chart_last": last,
    }


@login_required
def usage(request: HttpRequest) -> HttpResponse:
    context = {"stripe_enabled": stripe_client.stripe_enabled(), "billing_off": BILLING_OFF_MESSAGE}
    try:
        query = UsageQuery.model_validate({"periodStartUnix": request.GET.get("periodStartUnix")})
        user_id = cast(int, request.user.pk)  # login_required: a signed-in user
        context.update(_usage_context(user_id, query.periodStartUnix))
    except ValidationError as exc:
        return _usage_error(request, context, validation_failed_from(exc.errors()))
    except BillingUnavailable:  # the counters are down: the page still shows what the database knows
        context["known"] = account_known(user_id=cast(int, request.user.pk))
    return render(request, "billing/usage.html", context)


def _usage_error(request: HttpRequest, context: dict, exc) -> HttpResponse:
    context["error"] = exc.message
    return render(request, "billing/usage.html", context, status=exc.status)


def pricing(request: HttpRequest) -> HttpResponse:
    current = None
    if request.user.is_authenticated:
        current = membership_label(user_id=request.user.pk)
    plans, packs = catalogue_priced()
    return render(request, "billing/pricing.html", {
        "plans": plans,
        "packs": packs,
        "current": current,
        "free_slug": settings.BILLING_FREE_PLAN,
        "stripe_enabled": stripe_client.stripe_enabled(),
        "billing_off": BILLING_OFF_MESSAGE,
    })


def checkout_success(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/success.html")


def checkout_cancel(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/cancel.html")


# The landing page's try-out asks anonymous POST /rmbg for a preview this size at most (w/h):
# enough to judge the cut-out, not a full-size result for free.
TRYOUT_MAX_PIXELS = 250_000


def home(request: HttpRequest) -> HttpResponse:
    # Snippets use the address the visitor reached us at, so they can be pasted as they are.
    return render(request, "home.html", {
        "base_url": request.build_absolute_uri("/").rstrip("/"),
        "tryout": {"max_pixels": TRYOUT_MAX_PIXELS, "megapixels": f"{TRYOUT_MAX_PIXELS / 1e6:g}",
                   "daily": settings.BILLING_ANON_DAILY_LIMIT},
    })
