from django import template

from accounts.services import email_is_verified

register = template.Library()


@register.inclusion_tag("accounts/_verify_email_banner.html", takes_context=True)
def verify_email_banner(context) -> dict:
    """The "verify your email" banner for signed-in users whose address is unverified."""
    request = context.get("request")
    user = getattr(request, "user", None)
    show = bool(user and user.is_authenticated and not email_is_verified(user=user))
    return {"show": show, "user": user, "request": request, "csrf_token": context.get("csrf_token")}
