"""The address a request came from, as the trusted proxies in front of the bank report it.

Behind N trusted reverse proxies (settings.TRUSTED_PROXY_COUNT, 0 by default: the bank faces the
clients itself), the client is the Nth address from the right of X-Forwarded-For; anything a client
writes to the left of that is ignored, so a forged header can neither hide an address nor reset a
limit counted per address. django-ipware does the parsing (django-axes uses the same function).
"""

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip


def client_ip(request: HttpRequest) -> str:
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return request.META.get("REMOTE_ADDR", "") or ""
    address, _routable = get_client_ip(
        request, proxy_count=count, request_header_order=["HTTP_X_FORWARDED_FOR"]
    )
    return address or request.META.get("REMOTE_ADDR", "") or ""
