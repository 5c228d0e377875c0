"""Checkout, customer portal and the Stripe webhook. Thin: parse, call one service, respond."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import stripe_client
from billing.checkout import checkout_url_for, portal_url_for
from billing.errors import BillingError, BillingOff, BillingUnavailable
from billing.webhooks import webhook_handle

log = logging.getLogger(__name__)
BILLING_OFF_MESSAGE = "Billing is off on this server: purchases are not available."


def _back() -> HttpResponse:
    return redirect("pages:pricing")


@login_required
@require_POST
def checkout(request: HttpRequest, kind: str, slug: str) -> HttpResponse:
    if not stripe_client.stripe_enabled():
        messages.info(request, BILLING_OFF_MESSAGE)
        return _back()
    try:
        url = checkout_url_for(user=request.user, kind=kind, slug=slug)
    except BillingOff:
        messages.info(request, BILLING_OFF_MESSAGE)
        return _back()
    except BillingError as exc:
        messages.error(request, exc.message)
        return _back()
    return redirect(url, permanent=False)


@login_required
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    if not stripe_client.stripe_enabled():
        messages.info(request, BILLING_OFF_MESSAGE)
        return _back()
    try:
        url = portal_url_for(user=request.user)
    except BillingError as exc:
        messages.error(request, exc.message)
        return _back()
    return redirect(url, permanent=False)


@csrf_exempt  # Stripe cannot send a CSRF token; the signature check authenticates the request
@require_POST
def webhook(request: HttpRequest) -> JsonResponse:
    try:
        result = webhook_handle(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except (BillingError, BillingUnavailable) as exc:
        # 400 = bad signature/payload (never retried usefully); 503 = Redis down or billing off (retried)
        return JsonResponse({"error": exc.message, "status": exc.status}, status=exc.status)
    return JsonResponse({"received": True, "result": result})
