"""GET /favicon.ico: browsers (and the admin's pages) ask for it whatever a page links."""

from django.http import HttpResponseRedirect
from django.templatetags.static import static


def favicon(request):
    """The static icon (its hashed name in production, so it caches for good)."""
    return HttpResponseRedirect(static("favicon.ico"))
