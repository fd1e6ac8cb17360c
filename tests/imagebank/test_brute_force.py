"""Brute force and abuse (issue 8, item 6): one limit per account and one per client address,
across the allauth login page, the token endpoint and the admin login, kept in the shared cache,
with the client address taken from the trusted-proxy setting only.

Each test starts from an empty cache (the counts live there) with a small limit, and uses its own
documentation-range addresses (REMOTE_ADDR, or X-Forwarded-For behind a proxy).
"""

import itertools
import json
import logging
import re
import time
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.contrib.auth import authenticate
from django.core import mail
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from imagebank import lockout
from tests.conftest import require_service
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 5
WRONG = "not-the-password-at-all"
TOKEN_URL = "/api/auth/token/"
PROXY = "10.0.0.1"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.LOGIN_COOLOFF_MINUTES = 15
    settings.TRUSTED_PROXY_COUNT = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LANGUAGE_CODE = "en"
    cache.clear()
    yield
    cache.clear()


_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


def new_address() -> str:
    return next(_addresses)


def via(address: str, proxies: int = 0, forged: str | None = None) -> dict:
    """Request headers for a client at `address`, directly or behind `proxies` trusted proxies,
    optionally with a forged X-Forwarded-For of its own."""
    if proxies == 0:
        return {"REMOTE_ADDR": address, **({"HTTP_X_FORWARDED_FOR": forged} if forged else {})}
    chain = ([forged] if forged else []) + [address] + [PROXY] * (proxies - 1)
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": ", ".join(chain)}


def login_page(client, identifier: str, password: str, **extra):
    return client.post(
        reverse("account_login"), {"login": identifier, "password": password}, **extra
    )


def token_endpoint(client, identifier: str, password: str, **extra):
    return client.post(
        TOKEN_URL,
        json.dumps({"email": identifier, "password": password}),
        content_type="application/json",
        **extra,
    )


def admin_login(client, identifier: str, password: str, **extra):
    """The admin's own login form or, if the admin sends staff to the allauth sign-in (so that
    they give their second factor), that sign-in: the way a person would go."""
    response = client.post(
        reverse("admin:login"), {"username": identifier, "password": password}, **extra
    )
    if response.status_code in (301, 302):
        target = urlparse(response["Location"]).path
        assert target == reverse("account_login"), response["Location"]
        response = login_page(client, identifier, password, **extra)
    return response


WAYS_IN = (login_page, token_endpoint, admin_login)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def is_lockout(response) -> bool:
    if response.status_code != 429:
        return False
    if response["Content-Type"].startswith("application/json"):
        return "detail" in response.json()
    return "imagebank/lockout.html" in [t.name for t in response.templates]


def fail_everywhere(client, identifier: str, times: int, address=None):
    """`times` wrong passwords, in turn at each way in, each from a new address unless given."""
    answers = []
    for way in itertools.islice(itertools.cycle(WAYS_IN), times):
        answers.append(way(client, identifier, WRONG, **via(address or new_address())))
    return answers


# --- per account ---------------------------------------------------------------------------------


def test_wrong_passwords_across_every_way_in_lock_the_account_and_tell_the_owner(client):
    owner = UserFactory()
    answers = fail_everywhere(client, owner.email, LIMIT - 1)
    assert not any(is_lockout(a) for a in answers)
    assert [a.status_code for a in answers[:3]] == [200, 400, 200]
    assert mail.outbox == []

    # The limit-th failure is refused as a lockout, and the owner is told, once.
    assert is_lockout(fail_everywhere(client, owner.email, 1)[0])
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == [owner.email]
    assert "locked" in notice.subject
    assert "paused" in notice.body and "15 minutes" in notice.body

    # Within the cool-off, the right password is refused at every way in, from anywhere.
    for way in WAYS_IN:
        answer = way(client, owner.email, PASSWORD, **via(new_address()))
        assert is_lockout(answer), way.__name__
        assert not signed_in(client)
    # Whatever the case of the address typed.
    assert is_lockout(login_page(client, owner.email.upper(), PASSWORD, **via(new_address())))
    assert not signed_in(client)
    assert len(mail.outbox) == 1


def test_the_same_account_is_counted_whatever_the_case_typed(client):
    owner = UserFactory(email="Someone.Mixed@Example.org")
    spellings = ["someone.mixed@example.org", "SOMEONE.MIXED@EXAMPLE.ORG", owner.email]
    for n in range(LIMIT - 1):
        login_page(client, spellings[n % 3], WRONG, **via(new_address()))
    assert is_lockout(token_endpoint(client, spellings[1], WRONG, **via(new_address())))
    assert is_lockout(login_page(client, owner.email, PASSWORD, **via(new_address())))


def _comparable(response) -> tuple:
    if response["Content-Type"].startswith("application/json"):
        return response.status_code, response.json()
    text = response.content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)
    text = re.sub(r'value="[^"]*@example\.org"', "", text)  # the address typed, echoed back
    return response.status_code, text


def test_an_unknown_account_gets_the_same_answers_and_nobody_gets_mail(client):
    owner = UserFactory(email="real.person@example.org")
    unknown = "no.such.person@example.org"
    for step, way in enumerate(itertools.islice(itertools.cycle(WAYS_IN), LIMIT + len(WAYS_IN))):
        password = WRONG if step < LIMIT else PASSWORD
        real = _comparable(way(client, owner.email, password, **via(new_address())))
        fake = _comparable(way(client, unknown, password, **via(new_address())))
        assert real == fake, (step, way.__name__)
    assert [m.to for m in mail.outbox] == [[owner.email]]


def test_the_owner_is_told_once_per_lockout_however_many_attempts_follow(client):
    owner = UserFactory()
    fail_everywhere(client, owner.email, LIMIT + 6)
    assert len(mail.outbox) == 1


def test_an_inactive_account_is_locked_like_any_other_but_not_mailed(client):
    owner = UserFactory(is_active=False)
    answers = fail_everywhere(client, owner.email, LIMIT)
    assert is_lockout(answers[-1])
    assert mail.outbox == []


# --- per address ---------------------------------------------------------------------------------


def test_many_accounts_from_one_address_lock_the_address(client):
    address = new_address()
    bystander = UserFactory()
    for n in range(LIMIT - 1):
        answer = WAYS_IN[n % 3](client, f"guess{n}@example.org", WRONG, **via(address))
        assert not is_lockout(answer)
    assert is_lockout(token_endpoint(client, "guess-last@example.org", WRONG, **via(address)))

    # From that address even a right password is refused, at every way in, however often ...
    for way in itertools.islice(itertools.cycle(WAYS_IN), LIMIT + 1):
        assert is_lockout(way(client, bystander.email, PASSWORD, **via(address)))
    assert not signed_in(client)
    # ... and no account owner is told: no account is locked.
    assert mail.outbox == []
    # The same person from elsewhere signs in: refusals while the address was locked did not
    # count against their account.
    assert login_page(client, bystander.email, PASSWORD, **via(new_address())).status_code == 302
    assert signed_in(client)


# --- forged X-Forwarded-For ----------------------------------------------------------------------


@pytest.mark.parametrize("proxies", [0, 1])
def test_rotating_forged_forwarded_for_does_not_reset_the_address_limit(client, settings, proxies):
    settings.TRUSTED_PROXY_COUNT = proxies
    address = new_address()
    for n in range(LIMIT):
        headers = via(address, proxies, forged=f"203.0.113.{n + 1}")
        last = WAYS_IN[n % 3](client, f"sprayed{n}@example.org", WRONG, **headers)
    assert is_lockout(last)
    bystander = UserFactory()
    for n, way in enumerate(WAYS_IN):
        headers = via(address, proxies, forged=f"203.0.113.{100 + n}, 192.0.2.{n + 1}")
        assert is_lockout(way(client, bystander.email, PASSWORD, **headers)), way.__name__
    # A forged header naming another client does not borrow that client's clean record either;
    # and that other client, behind the same proxy, is not locked.
    other = new_address()
    assert is_lockout(login_page(client, bystander.email, PASSWORD, **via(address, proxies, other)))
    response = login_page(client, bystander.email, PASSWORD, **via(other, proxies))
    assert response.status_code == 302 and signed_in(client)


@pytest.mark.parametrize("proxies", [0, 1])
def test_rotating_forged_forwarded_for_does_not_reset_the_account_limit(client, settings, proxies):
    settings.TRUSTED_PROXY_COUNT = proxies
    owner = UserFactory()
    address = new_address()
    for n in range(LIMIT):
        headers = via(address, proxies, forged=f"203.0.113.{n + 1}")
        last = WAYS_IN[n % 3](client, owner.email, WRONG, **headers)
    assert is_lockout(last)
    headers = via(new_address(), proxies, forged="192.0.2.77")
    assert is_lockout(login_page(client, owner.email, PASSWORD, **headers))
    assert len(mail.outbox) == 1


def test_behind_a_proxy_each_client_is_counted_not_the_proxy(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(LIMIT + 2):  # more failures through the proxy than the limit, each a client
        login_page(client, f"someone{n}@example.org", WRONG, **via(new_address(), proxies=1))
    bystander = UserFactory()
    response = login_page(client, bystander.email, PASSWORD, **via(new_address(), proxies=1))
    assert response.status_code == 302 and signed_in(client)


# --- success, answers, logs ----------------------------------------------------------------------


def test_a_sign_in_resets_the_account_count(client):
    owner = UserFactory()
    fail_everywhere(client, owner.email, LIMIT - 1)
    assert login_page(client, owner.email, PASSWORD, **via(new_address())).status_code == 302
    client.post(reverse("account_logout"))

    # A full limit's worth minus one again, and the right password still works.
    answers = fail_everywhere(client, owner.email, LIMIT - 1)
    assert not any(is_lockout(a) for a in answers)
    assert login_page(client, owner.email, PASSWORD, **via(new_address())).status_code == 302
    assert mail.outbox == []


def test_a_sign_in_does_not_reset_the_address_count(client):
    address = new_address()
    user = UserFactory()
    for n in range(LIMIT - 1):
        login_page(client, f"guess{n}@example.org", WRONG, **via(address))
    assert login_page(client, user.email, PASSWORD, **via(address)).status_code == 302
    client.post(reverse("account_logout"))
    assert is_lockout(login_page(client, "one-more@example.org", WRONG, **via(address)))


def test_the_api_answer_is_json_with_a_detail_and_when_to_retry(client):
    fail_everywhere(client, "someone@example.org", LIMIT - 1)
    response = token_endpoint(client, "someone@example.org", PASSWORD, **via(new_address()))
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}
    assert "15 minutes" in response.json()["detail"]
    assert response["Retry-After"] == str(15 * 60)
    assert "token" not in response.json()


def test_the_html_answer_is_the_lockout_page(client):
    fail_everywhere(client, "someone@example.org", LIMIT - 1)
    response = login_page(client, "someone@example.org", WRONG, **via(new_address()))
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert "imagebank/lockout.html" in [t.name for t in response.templates]
    assert "15 minutes" in response.content.decode()
    assert response["Retry-After"] == str(15 * 60)


def test_the_limit_and_cool_off_come_from_settings(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.LOGIN_COOLOFF_MINUTES = 3
    answers = fail_everywhere(client, "someone@example.org", 2)
    assert not is_lockout(answers[0]) and is_lockout(answers[1])
    assert answers[1]["Retry-After"] == "180"
    assert "3 minutes" in answers[1].content.decode()


def test_failed_sign_ins_are_logged_with_account_and_address(client, caplog):
    caplog.set_level(logging.WARNING, logger="imagebank.lockout")
    address = new_address()
    token_endpoint(client, "Someone@Example.org", WRONG, **via(address))
    lines = [r.getMessage() for r in caplog.records if r.name == "imagebank.lockout"]
    assert len(lines) == 1
    assert "'someone@example.org'" in lines[0] and address in lines[0]
    assert WRONG not in lines[0]


def admin_form_authenticate(identifier: str, password: str, address: str):
    """What Django's admin login form does with its `username` field (whether or not the admin
    login page is still served or now redirects to the allauth sign-in)."""
    request = RequestFactory().post(reverse("admin:login"), REMOTE_ADDR=address)
    return authenticate(request, username=identifier, password=password)


def test_the_admin_forms_username_counts_for_the_account(client):
    owner = UserFactory()
    for _ in range(LIMIT):
        assert admin_form_authenticate(owner.email.upper(), WRONG, new_address()) is None
    assert admin_form_authenticate(owner.email, PASSWORD, new_address()) is None
    assert is_lockout(login_page(client, owner.email, PASSWORD, **via(new_address())))
    assert [m.to for m in mail.outbox] == [[owner.email]]


def test_a_failure_without_an_email_counts_for_the_address_only(client):
    """The admin's free-text field: `203.0.113.9` typed as a username must not count against the
    client at 203.0.113.9, and names that are not email addresses must not share one count."""
    victim = "203.0.113.9"
    for n in range(LIMIT + 1):
        admin_form_authenticate(victim, WRONG, new_address())
        admin_form_authenticate(f"admin{n}", WRONG, new_address())
    assert cache.get(lockout.account_key("")) is None  # no shared count of "no account"
    user = UserFactory()
    assert admin_form_authenticate(user.email, PASSWORD, new_address()) == user
    response = login_page(client, user.email, PASSWORD, **via(victim))
    assert response.status_code == 302 and signed_in(client)


def test_counts_are_kept_in_the_django_cache(client):
    owner = UserFactory()
    address = new_address()
    login_page(client, owner.email, WRONG, **via(address))
    login_page(client, owner.email, WRONG, **via(address))
    assert cache.get(lockout.account_key(owner.email.casefold())) == 2
    assert cache.get(lockout.address_key(address)) == 2


def test_an_administrator_lifts_a_lock_with_the_axes_commands(client, capsys):
    owner = UserFactory()
    fail_everywhere(client, owner.email, LIMIT)
    call_command("axes_reset_username", owner.email.upper())
    assert capsys.readouterr().out.strip() == "1 attempts removed."  # the account's count
    assert login_page(client, owner.email, PASSWORD, **via(new_address())).status_code == 302
    client.post(reverse("account_logout"))
    # Locked again later: the owner is told again.
    fail_everywhere(client, owner.email, LIMIT)
    assert len(mail.outbox) == 2

    address = new_address()
    for n in range(LIMIT):
        login_page(client, f"guess{n}@example.org", WRONG, **via(address))
    assert is_lockout(login_page(client, "someone@example.org", WRONG, **via(address)))
    call_command("axes_reset_ip", address)
    assert not is_lockout(login_page(client, "someone@example.org", WRONG, **via(address)))


class BrokenMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise OSError("the mail server is down")


def test_a_mail_server_down_does_not_turn_the_lockout_into_an_error(client, settings, caplog):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenMailBackend"
    owner = UserFactory()
    answers = fail_everywhere(client, owner.email, LIMIT)
    assert is_lockout(answers[-1])
    assert any("lockout notice" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


@pytest.mark.services
def test_with_redis_every_process_sees_the_same_counts(client, settings):
    require_service(bool(settings.REDIS_URL), "REDIS_URL is not set")
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    owner = UserFactory()
    fail_everywhere(client, owner.email, LIMIT)
    # A client of its own, as another web process has: it reads the same count.
    other_process = RedisCache(settings.REDIS_URL, {})
    assert other_process.get(lockout.account_key(owner.email.casefold())) == LIMIT


def test_second_factor_codes_at_the_sign_in_page_stay_limited(client, settings):
    """allauth limits wrong codes per user with its "login_failed" rate, which the sign-in limits
    keep on (looser than axes at the password step, so that axes answers there first)."""
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    response = login_page(client, user.email, PASSWORD, **via(new_address()))
    assert response["Location"] == reverse("mfa_authenticate")

    now = int(time.time()) // 30
    valid = {format_hotp_value(hotp_value(secret, now + step)) for step in (-1, 0, 1, 2)}
    wrong = next(c for c in (f"{n:06d}" for n in range(1000)) if c not in valid)
    for _ in range(2 * settings.LOGIN_FAILURE_LIMIT):
        client.post(reverse("mfa_authenticate"), {"code": wrong}, **via(new_address()))
    response = client.post(
        reverse("mfa_authenticate"),
        {"code": format_hotp_value(hotp_value(secret, int(time.time()) // 30))},
        **via(new_address()),
    )
    assert not signed_in(client)
    assert "Too many" in response.content.decode()


def test_at_the_sign_in_page_alone_the_lockout_comes_before_allauths_own_limit(client, settings):
    """With the configured numbers: allauth's failed-sign-in limit must not refuse at the page
    before axes has counted up to its limit (the page would stop counting and answer otherwise)."""
    settings.AXES_FAILURE_LIMIT = settings.LOGIN_FAILURE_LIMIT
    owner = UserFactory()
    address = new_address()
    answers = [
        login_page(client, owner.email, WRONG, **via(address))
        for _ in range(settings.LOGIN_FAILURE_LIMIT)
    ]
    assert not any(is_lockout(a) for a in answers[:-1])
    assert is_lockout(answers[-1])
    assert is_lockout(login_page(client, owner.email, PASSWORD, **via(new_address())))
    assert len(mail.outbox) == 1
