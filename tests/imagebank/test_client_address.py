"""imagebank.client_address.client_ip: the client is the Nth address from the right of
X-Forwarded-For behind N trusted proxies, REMOTE_ADDR with none; what the client writes itself
changes nothing."""

import pytest
from django.test import RequestFactory

from imagebank.client_address import client_ip

PROXY = "10.0.0.1"


def address(settings, proxies: int, forwarded: str | None, remote: str = PROXY) -> str:
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **headers))


@pytest.mark.parametrize(
    "forwarded",
    [None, "", "203.0.113.5", "203.0.113.5, 198.51.100.1", "garbage", '"', "for=203.0.113.5"],
)
def test_without_trusted_proxies_the_header_is_ignored(settings, forwarded):
    assert address(settings, 0, forwarded, remote="192.0.2.10") == "192.0.2.10"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "203.0.113.1, 198.51.100.7", "198.51.100.7"),
        (1, "203.0.113.1, 203.0.113.2, 198.51.100.7", "198.51.100.7"),
        (2, "198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "203.0.113.1, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (3, "203.0.113.1, 198.51.100.7, 10.0.0.3, 10.0.0.2", "198.51.100.7"),
        # Fewer entries than proxies: the request passed only the inner ones, which wrote them all.
        (2, "198.51.100.7", "198.51.100.7"),
        # Private and IPv6 clients, with ports and brackets as proxies may write them.
        (1, "203.0.113.1, 192.168.1.20", "192.168.1.20"),
        (1, "198.51.100.7:50123", "198.51.100.7"),
        (1, "203.0.113.1, [2001:db8::7]:443", "2001:db8::7"),
        (1, "2001:db8::7", "2001:db8::7"),
        (1, "::ffff:198.51.100.7", "198.51.100.7"),
    ],
)
def test_behind_n_proxies_the_nth_address_from_the_right_is_the_client(
    settings, proxies, forwarded, expected
):
    assert address(settings, proxies, forwarded) == expected


@pytest.mark.parametrize(
    "forged",
    [
        "203.0.113.99",
        "203.0.113.99, 192.0.2.1",
        "garbage",
        '"',  # ipware honours quotes: an unclosed one would swallow the proxies' entries
        '"203.0.113.99',
        "for=203.0.113.99",
        "unknown, , ,",
        "127.0.0.1",
        "0.0.0.0",  # noqa: S104 - a forged value, not a binding
        "[2001:db8::99]:1",
    ],
)
@pytest.mark.parametrize("proxies", [1, 2])
def test_whatever_the_client_forges_on_the_left_the_answer_is_the_same(settings, proxies, forged):
    trusted = ", ".join(["198.51.100.7"] + ["10.0.0.2"] * (proxies - 1))
    assert address(settings, proxies, f"{forged}, {trusted}") == "198.51.100.7"
    assert address(settings, proxies, f"{forged},{trusted}") == "198.51.100.7"


def test_no_header_behind_proxies_means_the_direct_peer(settings):
    assert address(settings, 1, None, remote="10.9.9.9") == "10.9.9.9"
    assert address(settings, 1, "   ", remote="10.9.9.9") == "10.9.9.9"


def test_an_unusable_trusted_entry_falls_back_to_the_direct_peer(settings):
    # A proxy that writes something else than an address is misconfigured; the peer is all we know.
    assert address(settings, 1, "198.51.100.7, unknown", remote="10.9.9.9") == "10.9.9.9"


def test_settings_that_ask_ipware_for_something_else_change_nothing(settings):
    settings.IPWARE_ALGORITHM = "legacy"
    settings.IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_REAL_IP", "REMOTE_ADDR"]
    settings.IPWARE_META_PROXY_COUNT = 5
    settings.IPWARE_STRICT = True
    assert address(settings, 1, "203.0.113.1, 198.51.100.7") == "198.51.100.7"


def test_the_old_header_parsing_would_have_been_fooled(settings):
    """Regression: ipware's proxy_count counts the proxies after the client in the header, one
    fewer than the proxies in front of the bank; passing TRUSTED_PROXY_COUNT as it was picked the
    forged entry (and with an honest header, the proxy's own address)."""
    assert address(settings, 1, "203.0.113.1, 198.51.100.7") != "203.0.113.1"
    assert address(settings, 1, "198.51.100.7") != PROXY


def test_allauth_counts_by_the_same_address(rf, settings):
    from allauth.account.adapter import get_adapter

    settings.TRUSTED_PROXY_COUNT = 2
    request = rf.get("/", HTTP_X_FORWARDED_FOR="198.51.100.7", REMOTE_ADDR="10.0.0.1")
    # Shorter than the trusted count: allauth's own reading would refuse with a 500.
    assert get_adapter(request).get_client_ip(request) == client_ip(request)
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7", REMOTE_ADDR="10.0.0.1")
    assert get_adapter(request).get_client_ip(request) == "198.51.100.7"
