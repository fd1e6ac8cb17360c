"""The address a request came from, as the trusted proxies in front of the bank report it.

Behind N trusted reverse proxies (settings.TRUSTED_PROXY_COUNT, 0 by default: the bank faces the
clients itself), each proxy appends the address it received the request from to X-Forwarded-For,
so the rightmost N entries were written by the bank's own proxies and the client is the Nth address
from the right (the first entry when there are fewer, as DRF counts too). Anything to the left of
that came from the client and is ignored, so a forged header can neither hide an address nor reset
a limit counted per address. With N = 0 the header is ignored altogether and REMOTE_ADDR is the
client.

django-ipware (which django-axes uses too) parses the trusted part of the header: ports, brackets
and IPv4-mapped IPv6 addresses. Only that part reaches it: ipware honours double quotes in the
header (RFC 7239 style), so a client-written `"` could otherwise swallow the entries the proxies
append after it and send the request to the REMOTE_ADDR fallback, that is the proxy's own address.

This is the one place that answers "which client?": django-axes (AXES_CLIENT_IP_CALLABLE) counts
failed sign-ins per address with it. DRF's throttles (NUM_PROXIES) and allauth's rate limits
(ALLAUTH_TRUSTED_PROXY_COUNT) are set from the same TRUSTED_PROXY_COUNT in config/settings.py.
"""

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip


def client_ip(request: HttpRequest) -> str:
    remote_addr = request.META.get("REMOTE_ADDR", "") or ""
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0
    if count <= 0:
        return remote_addr
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") or ""
    if not forwarded.strip():
        # Not through the proxies at all, e.g. a health check from inside.
        return remote_addr
    # The last N entries, or all of them when fewer (the request passed only the inner proxies,
    # and every entry is theirs): the client is the first of these, as with DRF's NUM_PROXIES.
    trusted = forwarded.split(",")[-count:]
    # ipware's proxy_count is the number of proxy addresses in the header after the client's.
    # strict=False: ipware then accepts a chain at least that long (it is exactly that long here).
    address, _routable = get_client_ip(
        request=_MetaOnly({"HTTP_X_FORWARDED_FOR": ",".join(trusted)}),
        proxy_count=len(trusted) - 1,
        request_header_order=["HTTP_X_FORWARDED_FOR"],
        strict=False,
        algorithm="modern",
    )
    return address or remote_addr


class _MetaOnly:
    """What ipware reads of a request: its META."""

    def __init__(self, meta: dict[str, str]) -> None:
        self.META = meta
