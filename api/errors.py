"""The one place that turns a failure into SPEC's JSON error shape.

Every domain error (removal, accounts, billing) carries `status`, `message`, `details` and
`headers`; this module renders them as {"error": ..., "details"?: [...], "status": ...}.
Anything unexpected becomes a JSON 500: an API client never sees an HTML error page.
"""

import logging

from django.http import JsonResponse
from django.views import defaults
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from config.errors import DomainError
from removal.errors import RemovalError

logger = logging.getLogger(__name__)

DOMAIN_ERRORS = (RemovalError, DomainError)  # accounts, billing and editor errors are DomainErrors


def error_body(*, status: int, message: str, details: list[dict] | None = None) -> dict:
    body: dict = {"error": message}
    if details:
        body["details"] = details
    body["status"] = status
    return body


def error_response(
    *, status: int, message: str, details: list[dict] | None = None, headers: dict | None = None
) -> JsonResponse:
    response = JsonResponse(error_body(status=status, message=message, details=details), status=status)
    for name, value in (headers or {}).items():
        response[name] = str(value)
    return response


def _domain(request, exc) -> JsonResponse:
    return error_response(
        status=exc.status, message=exc.message, details=exc.details, headers=exc.headers
    )


def _ninja_validation(request, exc: NinjaValidationError) -> JsonResponse:
    details = [
        {"field": str(err.get("loc", ["?"])[-1]), "message": err.get("msg", "invalid value")}
        for err in exc.errors
    ]
    message = details[0]["message"] if len(details) == 1 else "Multiple validation errors"
    return error_response(status=400, message=message, details=details)


def _http_error(request, exc: HttpError) -> JsonResponse:
    return error_response(status=exc.status_code, message=str(exc))


def _authentication(request, exc: AuthenticationError) -> JsonResponse:
    return error_response(status=401, message="invalid api key")


def _unexpected(request, exc: Exception) -> JsonResponse:
    logger.exception("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(status=500, message="Internal server error. Nothing was charged.")


def install_error_handlers(api) -> None:
    for cls in DOMAIN_ERRORS:
        api.add_exception_handler(cls, _domain)
    api.add_exception_handler(NinjaValidationError, _ninja_validation)
    api.add_exception_handler(AuthenticationError, _authentication)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Exception, _unexpected)


def is_api_path(path: str) -> bool:
    return path.startswith(("/api/", "/rmbg"))


# Pages get the site's templates (templates/404.html, 500.html, 403.html, 400.html, rendered by
# Django's default views); API paths keep SPEC's JSON shape.

def not_found(request, exception=None):
    if is_api_path(request.path):
        return error_response(status=404, message="Not found")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_path(request.path):
        return error_response(status=500, message="Internal server error. Nothing was charged.")
    return defaults.server_error(request)


def permission_denied(request, exception=None):
    if is_api_path(request.path):
        return error_response(status=403, message="Forbidden")
    return defaults.permission_denied(request, exception)


def bad_request(request, exception=None):
    if is_api_path(request.path):
        return error_response(status=400, message="Bad request")
    return defaults.bad_request(request, exception)
