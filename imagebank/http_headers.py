"""Answers that must not be kept by a browser or a proxy: `Cache-Control: no-store` on them.

A page shown to a signed-in user holds clinical data or account details; a shared clinic computer,
its browser's back button or a caching proxy must not keep a copy after the user has signed out.
So every answer to a signed-in user, every answer under /api/ (token-authenticated or not), under
/files/ (the permission-checked image views, also when they redirect to a signed URL), under
/accounts/ (sign-in, password reset and two-factor pages, even before sign-in) and under /admin/
is marked `Cache-Control: no-store` and `Pragma: no-cache` (for HTTP/1.0 proxies). Public pages
shown to visitors and static files (served by WhiteNoise before this middleware runs) keep their
caching.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

PRIVATE_PREFIXES = ("/api/", "/files/", "/accounts/", "/admin/")


def is_private(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    return request.path.startswith(PRIVATE_PREFIXES)


class NoStoreForPrivateAnswersMiddleware:
    """Marks private answers `Cache-Control: no-store`, replacing whatever caching a view
    allowed (the image views' `private, max-age=300` included)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if is_private(request):
            # A view that said no-store already (perhaps with `private`) is left as it said.
            if "no-store" not in response.get("Cache-Control", ""):
                response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
            # An Expires date set by a view (never_cache) would only contradict no-store.
            if "Expires" in response:
                del response["Expires"]
        return response
