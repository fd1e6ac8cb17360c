"""API tokens: issue, authenticate a raw key, list, revoke; and the rules they follow.

A raw key looks like `ib_<key id>_<secret>`. Only its SHA-256 is stored; the key id (12 hex
characters, public) finds the row. The key is high-entropy (256 random bits), so a plain SHA-256
is enough and does not depend on SECRET_KEY (rotating it does not void every token).

A token is refused when it is revoked or expired, when its owner is inactive, when it was issued
before the owner's password last changed, and when the owner's role needs two-factor
authentication (`second_factor_required`) but the token was issued without a second factor.
Tokens are revoked when the password changes or the account is deactivated (the receivers at the
end, connected in imagebank.apps) and when the owner removes their last second factor.

Use is audited without a row per request: `last_used_at`/`last_used_from` always, and a `used`
event at most once per token and client address every API_TOKEN_USE_AUDIT_MINUTES (counted in the
shared cache, so per process with the embedded cache and across processes with Redis).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import get_hasher, identify_hasher
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from imagebank.client_address import client_ip
from imagebank.models import ApiToken, ApiTokenEvent, User
from imagebank.roles import requires_mfa

log = logging.getLogger("imagebank.tokens")

KEY_PREFIX = "ib"
_KEY_ID_BYTES = 6  # 12 hex characters
_KEY = re.compile(r"^ib_(?P<key_id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{20,200})$")
NAME_MAX_LENGTH = 100

# Reasons kept in the audit trail and on the token: data, so not translated.
REASON_OWNER = "Revoked by its owner."
REASON_PASSWORD_CHANGED = "The password changed."  # noqa: S105
REASON_DEACTIVATED = "The account was deactivated."
REASON_SECOND_FACTOR_REMOVED = "The owner removed their second factor."


class TokenRefused(Exception):
    """The key does not authenticate anyone; the message says why, for the client."""


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw_key: str  # shown once to the owner, never stored


# --- rules ---------------------------------------------------------------------------------------


def second_factor_required(user) -> bool:
    """Whether the user must give a second factor: their roles need it (curators, committee
    members, superusers), or they are staff (the admin is behind the second factor too)."""
    return bool(user.is_authenticated and (requires_mfa(user) or user.is_staff))


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def password_fingerprint(encoded_password: str | None) -> str:
    """A digest of the owner's password hash: it changes whenever the password does."""
    return hashlib.sha256(f"imagebank-api-token:{encoded_password or ''}".encode()).hexdigest()


def default_days() -> int:
    return max(1, min(settings.API_TOKEN_DEFAULT_DAYS, settings.API_TOKEN_MAX_DAYS))


def validate_expires_in_days(days: int | None) -> int:
    if days is None:
        return default_days()
    maximum = settings.API_TOKEN_MAX_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= maximum:
        raise ValidationError(
            {
                "expires_in_days": _("Give a whole number of days from 1 to %(max)d.")
                % {"max": maximum}
            }
        )
    return days


def _validated_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, e.g. the computer it is for.")})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": _("At most %(max)d characters.") % {"max": NAME_MAX_LENGTH}})
    return name


def _address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    address = client_ip(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _once_per_window(kind: str, token: ApiToken, address: str | None, detail: str = "") -> bool:
    """True the first time this happens to this token from this address in the window."""
    minutes = settings.API_TOKEN_USE_AUDIT_MINUTES
    if minutes <= 0:
        return True
    digest = hashlib.sha256(f"{kind}|{token.key_id}|{address}|{detail}".encode()).hexdigest()
    return cache.add(f"imagebank:apitoken-event:{digest}", 1, timeout=minutes * 60)


# --- issue ---------------------------------------------------------------------------------------


@transaction.atomic
def issue_token(
    *,
    owner: User,
    name: str,
    second_factor: bool,
    expires_in_days: int | None = None,
    request: HttpRequest | None = None,
) -> IssuedToken:
    """A new token for `owner`, who must have given a second factor if their role needs it
    (`second_factor`: the caller verified a code, or the session or token used passed one)."""
    if not owner.is_active:
        raise PermissionDenied(_("This account is inactive."))
    if second_factor_required(owner) and not second_factor:
        raise PermissionDenied(
            _(
                "Your role requires two-factor authentication: a token can only be issued "
                "after you give your second factor."
            )
        )
    name = _validated_name(name)
    days = validate_expires_in_days(expires_in_days)
    # Locks the owner's row so that two requests at once cannot both pass the limit.
    User.objects.select_for_update().filter(pk=owner.pk).first()
    if ApiToken.objects.filter(owner=owner).active().count() >= settings.API_TOKEN_MAX_ACTIVE:
        raise ValidationError(
            _("You already hold %(max)d active tokens: revoke one you no longer use first.")
            % {"max": settings.API_TOKEN_MAX_ACTIVE}
        )
    key_id = secrets.token_hex(_KEY_ID_BYTES)
    raw_key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    address = _address(request)
    token = ApiToken.objects.create(
        owner=owner,
        name=name,
        key_id=key_id,
        key_hash=hash_key(raw_key),
        password_fingerprint=password_fingerprint(owner.password),
        second_factor=bool(second_factor),
        created_at=now,
        created_from=address,
        expires_at=now + timedelta(days=days),
    )
    ApiTokenEvent.objects.create(
        token=token,
        kind=ApiTokenEvent.Kind.ISSUED,
        actor=owner,
        at=now,
        address=address,
        detail="after a second factor" if second_factor else "",
    )
    log.info("api token issued user=%s token=%s", owner.pk, key_id)
    return IssuedToken(token=token, raw_key=raw_key)


# --- authenticate --------------------------------------------------------------------------------


def _refuse(token: ApiToken, address: str | None, detail: str, message: str) -> TokenRefused:
    if _once_per_window("refused", token, address, detail):
        ApiTokenEvent.objects.create(
            token=token, kind=ApiTokenEvent.Kind.REFUSED, address=address, detail=detail
        )
    log.info("api token refused token=%s reason=%r", token.key_id, detail)
    return TokenRefused(message)


def authenticate_key(raw_key: str, *, request: HttpRequest | None = None) -> ApiToken:
    """The token (with its owner loaded) that `raw_key` is, if it may be used now."""
    match = _KEY.match(raw_key or "")
    if match is None:
        raise TokenRefused(_("Invalid token."))
    token = ApiToken.objects.select_related("owner").filter(key_id=match.group("key_id")).first()
    if token is None or not constant_time_compare(token.key_hash, hash_key(raw_key)):
        raise TokenRefused(_("Invalid token."))
    address = _address(request)
    owner = token.owner
    now = timezone.now()
    if token.revoked_at is not None:
        raise _refuse(token, address, "revoked", _("This token has been revoked."))
    if token.expires_at <= now:
        raise _refuse(token, address, "expired", _("This token has expired."))
    if not owner.is_active:
        raise _refuse(token, address, "inactive owner", _("This account is inactive."))
    if not constant_time_compare(token.password_fingerprint, password_fingerprint(owner.password)):
        raise _refuse(
            token,
            address,
            "issued before the password changed",
            _("This token was issued before the password was last changed."),
        )
    if second_factor_required(owner) and not token.second_factor:
        raise _refuse(
            token,
            address,
            "issued without a second factor",
            _(
                "Your role requires two-factor authentication and this token was issued "
                "without it: create a new one with your code."
            ),
        )
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_from=address)
    token.last_used_at, token.last_used_from = now, address
    if _once_per_window("used", token, address):
        ApiTokenEvent.objects.create(
            token=token, kind=ApiTokenEvent.Kind.USED, actor=owner, at=now, address=address
        )
    return token


# --- list and revoke -----------------------------------------------------------------------------


def tokens_of(user: User) -> QuerySet[ApiToken]:
    """Every token the user holds or held, newest first (never the secret: it is not stored)."""
    return ApiToken.objects.filter(owner=user).order_by("-created_at", "-pk")


def revoke_token(
    *, token: ApiToken, actor: User, reason: str = REASON_OWNER, request: HttpRequest | None = None
) -> bool:
    """Revoke one token; only its owner may. False when it was revoked already."""
    if actor.pk != token.owner_id:
        raise PermissionDenied(_("Only the owner of a token may revoke it."))
    now = timezone.now()
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor, revoked_reason=reason
        )
        if changed:
            ApiTokenEvent.objects.create(
                token=token,
                kind=ApiTokenEvent.Kind.REVOKED,
                actor=actor,
                at=now,
                address=_address(request),
                detail=reason,
            )
    token.refresh_from_db()
    return bool(changed)


def revoke_all_for_user(
    user: User,
    *,
    reason: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
    only_second_factor: bool = False,
) -> int:
    """Revoke every token of `user` that is not revoked yet; the number revoked."""
    now = timezone.now()
    address = _address(request)
    with transaction.atomic():
        tokens = ApiToken.objects.filter(owner_id=user.pk, revoked_at__isnull=True)
        if only_second_factor:
            tokens = tokens.filter(second_factor=True)
        ids = list(tokens.select_for_update().values_list("pk", flat=True))
        if not ids:
            return 0
        ApiToken.objects.filter(pk__in=ids).update(
            revoked_at=now, revoked_by=actor, revoked_reason=reason
        )
        ApiTokenEvent.objects.bulk_create(
            ApiTokenEvent(
                token_id=pk,
                kind=ApiTokenEvent.Kind.REVOKED,
                actor=actor,
                at=now,
                address=address,
                detail=reason,
            )
            for pk in ids
        )
    log.info("api tokens revoked user=%s count=%d reason=%r", user.pk, len(ids), reason)
    return len(ids)


# --- signal receivers (connected in imagebank.apps) ----------------------------------------------


def _watched(user) -> tuple[str | None, bool | None]:
    # __dict__, not attributes: reading a deferred field here would cost a query per user loaded.
    return user.__dict__.get("password"), user.__dict__.get("is_active")


def remember_credentials(sender, instance, **kwargs) -> None:
    """post_init: what the password and the active flag were when the user was loaded."""
    instance._api_token_watch = _watched(instance)


def _is_hash_upgrade(user, old_encoded: str, update_fields) -> bool:
    """Django re-hashes a password with a stronger hasher when its owner signs in (the same
    password, so not a change): set_password, then `_password = None` and
    save(update_fields=["password"])."""
    if getattr(user, "_password", None) is not None:
        return False
    if update_fields is None or set(update_fields) != {"password"}:
        return False
    try:
        old_hasher = identify_hasher(old_encoded)
    except ValueError:
        return False
    return old_hasher.algorithm != get_hasher("default").algorithm or old_hasher.must_update(
        old_encoded
    )


def revoke_on_credential_change(sender, instance, created: bool, update_fields=None, **kwargs):
    """post_save: a new password (any path: allauth change or reset, the admin, set_password and
    save, a hash assigned by hand) or a deactivation revokes every token of the user."""
    old_password, old_active = getattr(instance, "_api_token_watch", (None, None))
    new_password, new_active = _watched(instance)
    instance._api_token_watch = (new_password, new_active)
    if created:
        return
    saved = None if update_fields is None else set(update_fields)
    if saved is None or "password" in saved:
        changed = (
            new_password != old_password
            if old_password is not None
            else getattr(instance, "_password", None) is not None
        )
        if (
            changed
            and old_password is not None
            and _is_hash_upgrade(instance, old_password, update_fields)
        ):
            ApiToken.objects.filter(
                owner_id=instance.pk, password_fingerprint=password_fingerprint(old_password)
            ).update(password_fingerprint=password_fingerprint(new_password))
        elif changed:
            revoke_all_for_user(instance, reason=REASON_PASSWORD_CHANGED)
    if (saved is None or "is_active" in saved) and old_active is True and new_active is False:
        revoke_all_for_user(instance, reason=REASON_DEACTIVATED)


def revoke_on_second_factor_removed(sender, request, user, **kwargs) -> None:
    """allauth.mfa's authenticator_removed: without a second factor left, the tokens issued
    after one lose what they were issued on."""
    from allauth.mfa.utils import is_mfa_enabled

    if not is_mfa_enabled(user):
        revoke_all_for_user(
            user, reason=REASON_SECOND_FACTOR_REMOVED, actor=user, only_second_factor=True
        )


# --- the second factor on the API ----------------------------------------------------------------


class SecondFactorLimited(Exception):
    """Too many wrong codes for this account lately (allauth's own login_failed limit)."""


def verify_second_factor(user: User, code: str, request: HttpRequest) -> bool:
    """Whether `code` is a valid TOTP code or an unused recovery code of `user`, checked by
    allauth.mfa itself (a TOTP code is good once; a recovery code is used up). Wrong codes count
    against the same per-account limit as the sign-in page's code form."""
    from allauth.core import ratelimit
    from allauth.mfa.models import Authenticator

    key = f"mfa-auth-user-{user.pk}"
    if not ratelimit.consume(request, action="login_failed", key=key):
        raise SecondFactorLimited
    code = (code or "").strip()
    if code:
        authenticators = Authenticator.objects.filter(user=user).exclude(
            type=Authenticator.Type.WEBAUTHN  # a security key cannot check a typed code
        )
        for authenticator in authenticators:
            if authenticator.wrap().validate_code(code):
                authenticator.record_usage()
                ratelimit.clear(request, action="login_failed", key=key)
                return True
    return False
