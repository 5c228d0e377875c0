"""Content-Security-Policy on every response (Django 5.2 has none built in; 6.0 will).

Our pages load scripts only from our own static files (`<script type="module" src=...>`), never
inline, so `script-src 'self'` holds; `tests/production/test_csp.py` parses the rendered pages to
keep it that way. Styles allow 'unsafe-inline' because some account pages carry a `<style>`
block and Swagger UI sets style attributes; CSS injection cannot run code.
Images may come from the object store when downloads are redirected to signed URLs
(`core.storage.storage_origin`), and the editor's websocket is same-origin (`ws:`/`wss:`
spelled out, as older browsers do not let 'self' cover them).
"""

from django.conf import settings
from django.core.exceptions import DisallowedHost

from core.middleware import AroundMiddleware
from core.storage import storage_origin

HEADER = "Content-Security-Policy"


def policy_build(*, host: str, secure: bool, extra_img: tuple[str, ...] = ()) -> str:
    socket = f"{'wss' if secure else 'ws'}://{host}" if host else ""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *extra_img],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", socket] if socket else ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        # Chromium applies form-action to the redirect after a POST: checkout and the portal
        # answer with a redirect to Stripe.
        "form-action": ["'self'", "https://checkout.stripe.com", "https://billing.stripe.com"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class ContentSecurityPolicyMiddleware(AroundMiddleware):
    """Sets the policy unless the view already set one; `CSP_REPORT_ONLY` sends it as report-only."""

    def after(self, request, response, state):
        header = f"{HEADER}-Report-Only" if settings.CSP_REPORT_ONLY else HEADER
        if HEADER in response or header in response:
            return response
        try:
            host = request.get_host()
        except DisallowedHost:  # the 400 for a foreign Host header still gets a policy
            host = ""
        origin = storage_origin()
        extra_img = (origin,) if origin else ()
        response[header] = policy_build(host=host, secure=request.is_secure(), extra_img=extra_img)
        return response
