import base64
import secrets

from allauth.account.internal.flows.email_verification import (
    get_address_for_user,
    send_verification_email_to_address,
)
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import ApiKeyCreateForm

# The new key's one-time reveal survives the redirect split in two halves: the session (in the
# database) holds the key XOR a random pad, a short-lived cookie holds the pad. Neither place
# ever holds the plain text, and the profile page consumes both on the next view.
_REVEAL_SESSION_KEY = "accounts.api_key_reveal"
_REVEAL_COOKIE = "cutout_key_reveal"
_REVEAL_MAX_AGE = 300


@never_cache
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return _profile_render(request, ApiKeyCreateForm())


@never_cache
@login_required
@require_POST
def api_key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        return _profile_render(request, form, status=400)
    key, plaintext = services.api_key_create(user=request.user, name=form.cleaned_data["name"],
                                             is_test=form.cleaned_data["is_test"])
    response = redirect("accounts:profile")
    _reveal_stash(request, response, key_id=key.pk, plaintext=plaintext)
    return response


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    if not services.api_key_revoke(user=request.user, key_id=key_id):
        raise Http404("no such key")
    messages.success(request, "API key revoked. Requests using it are now refused.")
    return redirect("accounts:profile")


@login_required
@require_POST
def webhook_secret_rotate(request: HttpRequest) -> HttpResponse:
    services.webhook_secret_rotate(user=request.user)
    messages.success(request, "Webhook signing secret rotated. New webhooks are signed with it.")
    return redirect("accounts:profile")


@login_required
@require_POST
def verification_resend(request: HttpRequest) -> HttpResponse:
    if services.email_is_verified(user=request.user):
        messages.info(request, "Your email address is already verified.")
    else:
        address = get_address_for_user(request.user)
        # allauth adds its own "Confirmation email sent" message; it declines (rate limit)
        # when a mail went out a few minutes ago.
        if address is None or not send_verification_email_to_address(request, address):
            messages.info(request, "We sent you a verification email recently. Please check your inbox.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("accounts:profile")
    return redirect(next_url)


@login_required
@require_POST
def user_token(request: HttpRequest) -> JsonResponse:
    """A fresh Bearer token for the web app's own calls to POST /rmbg."""
    token = services.user_token_issue(user=request.user)
    return JsonResponse({"token": token, "expires_in": settings.USER_TOKEN_MAX_AGE})


def _profile_render(request: HttpRequest, form: ApiKeyCreateForm, *, status: int = 200) -> HttpResponse:
    revealed = _reveal_take(request)
    context = {
        "email": getattr(request.user, "email", ""),  # a signed-in user (login_required)
        "email_verified": services.email_is_verified(user=request.user),
        "api_keys": services.api_key_list(user=request.user),
        "form": form,
        "new_key": revealed,
        # the usage line names the address the visitor reached us at, as the landing page's snippets do
        "base_url": request.build_absolute_uri("/").rstrip("/"),
        "webhook_secret": services.webhook_secret_get(user=request.user),
    }
    response = render(request, "accounts/profile.html", context, status=status)
    if _REVEAL_COOKIE in request.COOKIES:
        response.delete_cookie(_REVEAL_COOKIE, path=reverse("accounts:profile"), samesite="Strict")
    return response


def _reveal_stash(request: HttpRequest, response: HttpResponse, *, key_id: int, plaintext: str) -> None:
    data = plaintext.encode()
    pad = secrets.token_bytes(len(data))
    request.session[_REVEAL_SESSION_KEY] = {"id": key_id, "masked": _b64(_xor(data, pad))}
    response.set_cookie(
        _REVEAL_COOKIE,
        _b64(pad),
        max_age=_REVEAL_MAX_AGE,
        path=reverse("accounts:profile"),
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


def _reveal_take(request: HttpRequest) -> dict | None:
    stashed = request.session.pop(_REVEAL_SESSION_KEY, None)
    pad = request.COOKIES.get(_REVEAL_COOKIE)
    if not stashed or not pad:
        return None
    try:
        masked = base64.urlsafe_b64decode(stashed["masked"])
        plaintext = _xor(masked, base64.urlsafe_b64decode(pad)).decode("ascii")
    except (KeyError, ValueError):
        return None
    return {"id": stashed["id"], "plaintext": plaintext}


def _xor(data: bytes, pad: bytes) -> bytes:
    if len(data) != len(pad):
        raise ValueError("pad length mismatch")
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")
