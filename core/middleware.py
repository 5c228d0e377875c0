"""A base for middleware that wraps every response, natively in both sync and async stacks.

Django's MiddlewareMixin would run our hooks through sync_to_async (a thread hop per request
on the ASGI path); these hooks are cheap and non-blocking, so they run inline either way.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


class AroundMiddleware:
    """Subclasses implement `before(request) -> state`, `after(request, response, state) -> response`
    and, when something must be undone whatever happens, `finish(state)`."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        state = self.before(request)
        try:
            return self.after(request, self.get_response(request), state)
        finally:
            self.finish(state)

    async def _acall(self, request):
        state = self.before(request)
        try:
            return self.after(request, await self.get_response(request), state)
        finally:
            self.finish(state)

    def before(self, request):
        return None

    def after(self, request, response, state):
        return response

    def finish(self, state) -> None:
        pass
