"""ninja's exception handlers: every failure on the API answers through core.errors' one renderer."""

from django.http import JsonResponse
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from core.errors import (
    DOMAIN_ERRORS,
    INTERNAL_ERROR,
    error_response,
    error_response_for,
    unexpected_log,
    validation_failed_from,
)


def _domain(request, exc) -> JsonResponse:
    return error_response_for(exc)


def _ninja_validation(request, exc: NinjaValidationError) -> JsonResponse:
    return error_response_for(validation_failed_from(exc.errors))


def _http_error(request, exc: HttpError) -> JsonResponse:
    return error_response(status=exc.status_code, message=str(exc))


def _authentication(request, exc: AuthenticationError) -> JsonResponse:
    return error_response(status=401, message="invalid api key")


def _unexpected(request, exc: Exception) -> JsonResponse:
    unexpected_log(exc, where=f"{request.method} {request.path}")
    return error_response(status=500, message=INTERNAL_ERROR)


def install_error_handlers(api) -> None:
    for cls in DOMAIN_ERRORS:
        api.add_exception_handler(cls, _domain)
    api.add_exception_handler(NinjaValidationError, _ninja_validation)
    api.add_exception_handler(AuthenticationError, _authentication)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Exception, _unexpected)
