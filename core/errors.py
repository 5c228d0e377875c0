"""The project's error base and the one renderer of SPEC's JSON error shape.

Every refusal carries what the edge needs: `status`, the exact `message`, optional field
`details` and extra response `headers` (Retry-After, RateLimit-*). Domain errors of accounts,
billing and the editor subclass `DomainError`; removal/ keeps its own `RemovalError` with the same
attributes because the pipeline imports nothing of ours. `DOMAIN_ERRORS` names both, and
`error_response_for` renders either as {"error": ..., "details"?: [...], "status": ...} for the
API, the editor and the middleware alike. Anything unexpected is logged once, with its traceback
and the request id, by `unexpected_log`, and answered as a JSON 500.
"""

import logging

from django.http import JsonResponse
from django.views import defaults

from removal.errors import PROCESSING_FAILED, ProcessingFailed, RemovalError, ValidationFailed

log = logging.getLogger("cutout.errors")

INTERNAL_ERROR = "Internal server error. Nothing was charged."


class DomainError(Exception):
    status: int = 400
    message: str = "Request refused"

    def __init__(self, message: str | None = None, *, details: list[dict] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.message = message or self.message
        self.details = details
        self.headers = dict(headers or {})
        super().__init__(self.message)


DOMAIN_ERRORS = (RemovalError, DomainError)


def error_body(*, status: int, message: str, details: list[dict] | None = None) -> dict:
    body: dict = {"error": message}
    if details:
        body["details"] = details
    body["status"] = status
    return body


def error_response(*, status: int, message: str, details: list[dict] | None = None,
                   headers: dict | None = None, extra: dict | None = None) -> JsonResponse:
    body = error_body(status=status, message=message, details=details) | (extra or {})
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = str(value)
    return response


def error_response_for(exc: RemovalError | DomainError, *, extra: dict | None = None) -> JsonResponse:
    """A domain error as SPEC's JSON answer, with its headers; `extra` adds keys (the editor's links)."""
    return error_response(status=exc.status, message=exc.message, details=exc.details,
                          headers=exc.headers, extra=extra)


def unexpected_log(exc: BaseException, *, where: str) -> None:
    """Log a failure nobody anticipated with its traceback; the request id comes from core.logs."""
    log.error("unexpected error in %s: %s", where, type(exc).__name__, exc_info=exc)


def processing_failed(exc: BaseException, *, where: str) -> RemovalError | DomainError:
    """A domain error passes through unchanged; anything else is logged and becomes a JSON 500."""
    if isinstance(exc, DOMAIN_ERRORS):
        return exc
    unexpected_log(exc, where=where)
    return ProcessingFailed(PROCESSING_FAILED)


def validation_failed_from(errors: list) -> ValidationFailed:
    """pydantic's (or ninja's) error list as our one envelope: the field is the last part of `loc`."""
    return ValidationFailed([(str((err.get("loc") or ["?"])[-1]), err.get("msg", "invalid value"))
                             for err in errors])


def is_api_path(path: str) -> bool:
    """Paths whose callers read JSON: the API, and the editor's job endpoints (its page's fetch calls)."""
    return path.startswith(("/api/", "/rmbg", "/editor/jobs/"))


# Pages get the site's templates (templates/404.html, 500.html, 403.html, 400.html, rendered by
# Django's default views); API paths keep SPEC's JSON shape.

CSRF_FAILED = "CSRF verification failed: send the page's CSRF token in the X-CSRFToken header."


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a POST without its token (another site's form, a script that did not
    send it) gets JSON on API paths, Django's page elsewhere."""
    if is_api_path(request.path):
        return error_response(status=403, message=CSRF_FAILED)
    from django.views.csrf import csrf_failure as page

    return page(request, reason=reason)


def not_found(request, exception=None):
    if is_api_path(request.path):
        return error_response(status=404, message="Not found")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_path(request.path):
        return error_response(status=500, message=INTERNAL_ERROR)
    return defaults.server_error(request)


def permission_denied(request, exception=None):
    if is_api_path(request.path):
        return error_response(status=403, message="Forbidden")
    return defaults.permission_denied(request, exception)


def bad_request(request, exception=None):
    if is_api_path(request.path):
        return error_response(status=400, message="Bad request")
    return defaults.bad_request(request, exception)
