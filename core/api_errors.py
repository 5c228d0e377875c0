"""API paths answer errors in SPEC's JSON shape even when Django or ninja made the response.

Our own errors are rendered by api/errors.py; a few come from below us (ninja's 405 for a wrong
method, Django's own 400 for a malformed request) as short HTML. This rewrites those, on API
paths only, keeping their status and headers such as Allow.
"""

from http import HTTPStatus

from core.errors import error_response, is_api_path
from core.middleware import AroundMiddleware


class ApiJsonErrorsMiddleware(AroundMiddleware):
    def after(self, request, response, state):
        if (response.status_code < 400 or not is_api_path(request.path)
                or response.get("Content-Type", "").startswith("application/json")):
            return response
        headers = {name: response[name] for name in ("Allow", "Retry-After") if name in response}
        message = HTTPStatus(response.status_code).phrase
        return error_response(status=response.status_code, message=message, headers=headers)
