"""Sign-in limits: django-axes configured for the bank (the AXES block of config/settings.py).

Every way in calls django.contrib.auth.authenticate() with the request: the allauth login page
(field `login`, passed on as `email`), POST /api/auth/token/ (`email`) and the admin login
(`username`). axes.backends.AxesStandaloneBackend, first among the backends, refuses while a limit
is reached; axes' signal receivers count each failure. Two counts, each locking on its own:

- per account: the identifier typed, whatever the field is called, case-folded (`account_from`);
- per client address: imagebank.client_address.client_ip, which trusts only the configured proxies.

The counts live in Django's cache (Redis when REDIS_URL is set) through `LockoutCacheHandler`, a
thin subclass of axes' cache handler that adds what the bank needs around axes' own counting: a log
line per failure naming account and address, one notice mail to the owner of a locked account, and
a success resetting that account's count only (not the address's: an attacker holding one account
must not clear the count of an address spraying passwords at others). `lockout_response` answers a
refused sign-in: a page for the HTML logins, JSON for /api/. Neither says whether the account
exists: unknown accounts are counted and locked like real ones; only the mail differs, and it goes
to the owner, not to whoever typed the address.
"""

import contextlib
import hashlib
import logging
import math
from datetime import timedelta

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cool_off, get_failure_limit, make_cache_key_list
from axes.models import AccessBase
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

logger = logging.getLogger(__name__)

# The names the identifier goes by: allauth's form field, the token endpoint's and allauth's
# credentials, the admin's form field (and axes' own credentials, keyed by USERNAME_FIELD).
ACCOUNT_FIELDS = ("login", "email", "username")


def _typed_identifier(request: HttpRequest | None, credentials: dict | None) -> str:
    """The identifier as typed (stripped), from the credentials or else the posted form."""
    sources: list = [credentials or {}]
    if request is not None:
        # A body that is not a form (JSON, already read by DRF) holds no form field.
        with contextlib.suppress(Exception):
            sources.append(request.POST)
    for source in sources:
        for field in ACCOUNT_FIELDS:
            value = source.get(field)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def normalise_account(identifier: str | None) -> str | None:
    """The form an identifier is counted under: case-folded; None for what cannot be an account.

    Accounts are email addresses. Anything without an `@` (the admin's free-text field accepts
    it) is counted per address only: as an "account" it could only collide with an address's
    count, since axes keys both by the bare value (typing `203.0.113.7` would count against that
    address).
    """
    if not identifier:
        return None
    folded = identifier.strip().casefold()
    return folded if "@" in folded else None


def account_from(request: HttpRequest | None, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account a sign-in attempt names, however its field is called."""
    return normalise_account(_typed_identifier(request, credentials))


def lockout_parameters(request_or_attempt, credentials: dict | None = None) -> list[str]:
    """AXES_LOCKOUT_PARAMETERS: count per account and per address, each on its own.

    An attempt that names no account counts per address only (axes would otherwise count every
    such attempt under one shared empty account). axes also calls this to reset a username or an
    address alone (`axes_reset_username`, `axes_reset_ip`): then only that count is named.
    """
    if isinstance(request_or_attempt, AccessBase):
        account, address = request_or_attempt.username, request_or_attempt.ip_address
    else:
        account, address = account_from(request_or_attempt, credentials), True
    parameters = []
    if account:
        parameters.append("username")
    if address or not parameters:
        parameters.append("ip_address")
    return parameters


def account_key(account: str) -> str:
    """The cache key axes counts an account's failures under."""
    return make_cache_key_list([{"username": account}])[0]


def address_key(address: str) -> str:
    """The cache key axes counts an address's failures under."""
    return make_cache_key_list([{"ip_address": address}])[0]


def _cool_off_seconds(request: HttpRequest | None) -> int | None:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else None


def _cool_off_minutes(request: HttpRequest | None) -> int | None:
    seconds = _cool_off_seconds(request)
    return max(1, math.ceil(seconds / 60)) if seconds else None


def _loggable(value: str | None) -> str:
    """What was typed, safe for one log line."""
    return repr((value or "")[:254])


class LockoutCacheHandler(AxesCacheHandler):
    """axes' cache handler (counts in Django's cache), plus logging, the owner's notice and a
    success that resets the account's count only."""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None:
            return
        account = account_from(request, credentials)
        address = getattr(request, "axes_ip_address", "") or ""
        limit = get_failure_limit(request, credentials)
        account_failures = self.cache.get(account_key(account), 0) if account else 0
        address_failures = self.cache.get(address_key(address), 0)
        logger.warning(
            "Failed sign-in for account %s from address %s at %s: %s of %s failures for the "
            "account, %s of %s for the address%s.",
            _loggable(account or _typed_identifier(request, credentials)),
            address,
            getattr(request, "axes_path_info", request.path),
            account_failures,
            limit,
            address_failures,
            limit,
            " (refused: limit reached)" if getattr(request, "axes_locked_out", False) else "",
        )
        if account and account_failures >= limit:
            self._notify_owner(request, credentials, account, address)

    def user_logged_in(self, sender, request, user, **kwargs):
        if request is not None:  # axes' own handler needs one (it only logs)
            super().user_logged_in(sender, request, user, **kwargs)
        account = normalise_account(user.get_username())
        if account:
            self.cache.delete(account_key(account))
            self.cache.delete(_notice_key(account))

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False) -> int:
        """`manage.py axes_reset_username` / `axes_reset_ip`: the account in any case typed."""
        account = normalise_account(username) or username
        if account:
            self.cache.delete(_notice_key(account))
        return super().reset_attempts(
            ip_address=ip_address, username=account, ip_or_username=ip_or_username
        )

    def _notify_owner(self, request, credentials, account: str, address: str) -> None:
        """Mail the owner once per lockout, if the account exists; nothing else depends on that."""
        # One notice per lockout: the first refused attempt wins the key, later ones see it.
        if not self.cache.add(_notice_key(account), True, timeout=_cool_off_seconds(request)):
            return
        identifier = _typed_identifier(request, credentials)
        owner = (
            get_user_model()
            .objects.filter(email__iexact=identifier, is_active=True)
            .only("email", "full_name")
            .first()
        )
        if owner is None:
            return
        minutes = _cool_off_minutes(request)
        context = {
            "owner": owner,
            "address": address,
            "when": timezone.now(),
            "failure_limit": get_failure_limit(request, credentials),
            "cool_off_minutes": minutes,
            "password_reset_url": request.build_absolute_uri(_password_reset_path()),
        }
        try:
            send_mail(
                _("Your Cervical Image Bank account is locked for a while"),
                render_to_string("imagebank/email/account_locked.txt", context),
                None,
                [owner.email],
            )
        except Exception:  # noqa: BLE001 - a mail server down must not turn the answer into a 500
            logger.exception("Could not send the lockout notice for account %s.", account)
        else:
            logger.info("Sent the lockout notice for account %s.", account)


def _notice_key(account: str) -> str:
    return "imagebank-lockout-notice-" + hashlib.sha256(account.encode()).hexdigest()


def _password_reset_path() -> str:
    from django.urls import reverse

    return reverse("account_reset_password")


def lockout_message(request: HttpRequest | None) -> str:
    minutes = _cool_off_minutes(request)
    if minutes is None:
        return _(
            "Too many failed sign-in attempts. Signing in from here, or to this account, is "
            "paused until an administrator lifts the limit."
        )
    return ngettext(
        "Too many failed sign-in attempts. Signing in from here, or to this account, is paused "
        "for %(minutes)d minute; try again later.",
        "Too many failed sign-in attempts. Signing in from here, or to this account, is paused "
        "for %(minutes)d minutes; try again later.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the answer to a refused sign-in, the same whether the account exists.

    JSON `{"detail": …}` under /api/, the lockout page elsewhere; status AXES_HTTP_RESPONSE_CODE
    (429), with Retry-After when the limit lifts by itself.
    """
    status = getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429)
    message = lockout_message(request)
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=status)
    else:
        response = render(
            request,
            "imagebank/lockout.html",
            {"message": message, "cool_off_minutes": _cool_off_minutes(request)},
            status=status,
        )
    seconds = _cool_off_seconds(request)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


def cool_off(request: HttpRequest | None = None) -> timedelta:
    """AXES_COOLOFF_TIME: how long a reached limit holds, LOGIN_COOLOFF_MINUTES after the last
    counted failure."""
    return timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)
