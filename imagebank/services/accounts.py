"""Accounts given out by curators: an invitation makes the account and mails a set-password link.

Open sign-up gives only a researcher account (imagebank.adapters, access_requests.signals); every
other role (contributor of a site, reviewer, curator, committee member, ...) is given by
invitation. The invited account has no usable password and a verified address; the link is
allauth's password-reset link (Django's token generator: it stops working once a password is
set, and after PASSWORD_RESET_TIMEOUT), so the person sets a password there and signs in.
"""

import logging
from collections.abc import Sequence

from allauth.account.adapter import get_adapter
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from allauth.core.context import request_context
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from imagebank.models import Site, User
from imagebank.permissions import require
from imagebank.roles import CURATOR, BankRole, get_role, has_role
from imagebank.services import sites as site_services

logger = logging.getLogger("imagebank.accounts")


def can_invite(user) -> bool:
    """Curators (and superusers) give out accounts."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or has_role(user, CURATOR)


def _clean_email(email: str) -> str:
    email = str(email or "").strip()
    try:
        validate_email(email)
    except ValidationError as error:
        raise ValidationError({"email": _("Give a valid email address.")}) from error
    return User.objects.normalize_email(email).lower()


def _clean_role(role: str | BankRole | None) -> BankRole | None:
    if not role:
        return None
    known = get_role(str(role))
    if known is None:
        raise ValidationError({"role": _("Choose one of the bank's roles.")})
    return known


@transaction.atomic
def invite_user(
    *,
    actor,
    email: str,
    role: str | BankRole | None = None,
    sites: Sequence[Site] = (),
    full_name: str = "",
    language: str = "",
    request: HttpRequest,
) -> User:
    """An account for `email` with the role and site memberships given, and the mail that lets
    its owner set a password (sent once the transaction commits).

    Inviting an address again whose owner has not yet set a password sends a fresh link and
    adds the role and sites; an address whose account is in use is refused.
    """
    require(can_invite(actor), _("Only curators invite people to the bank."))
    email = _clean_email(email)
    bank_role = _clean_role(role)
    sites = list(sites)
    if bank_role is None and not sites:
        raise ValidationError(
            {"role": _("Choose a role, a site to contribute to, or both: the account needs one.")}
        )
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and (user.has_usable_password() or user.last_login is not None):
        raise ValidationError(
            {
                "email": _(
                    "This address has an account already. Give its roles in the administration "
                    "site."
                )
            }
        )
    if user is None:
        user = User.objects.create_user(email, password=None, full_name=str(full_name).strip())
    # The person can only set a password through the link mailed to this address.
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    if bank_role is not None:
        site_services.grant_role(user=user, role=bank_role)
    for site in sites:
        site_services.add_site_member(site=site, user=user)
    language = language if language in dict(settings.LANGUAGES) else translation.get_language()
    transaction.on_commit(
        lambda: send_invitation(user=user, invited_by=actor, language=language, request=request)
    )
    logger.info(
        "invitation by user=%s for user=%s role=%s sites=%s (mailed on commit)",
        actor.pk,
        user.pk,
        bank_role or "-",
        ",".join(str(site.pk) for site in sites) or "-",
    )
    return user


def set_password_url(user: User, request: HttpRequest) -> str:
    """allauth's password-reset link for the user: single use, and valid PASSWORD_RESET_TIMEOUT."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    return request.build_absolute_uri(path)


def send_invitation(*, user: User, invited_by, language: str, request: HttpRequest) -> None:
    """The invitation mail, in the language the curator chose for it."""
    # allauth's mail reads the request from its context, which is gone if this runs late.
    with request_context(request), translation.override(language):
        roles = [
            str(role.label)
            for role in (get_role(name) for name in user.groups.values_list("name", flat=True))
            if role is not None
        ]
        sites = list(Site.objects.filter(memberships__user=user).values_list("name", flat=True))
        context = {
            "user": user,
            "invited_by": invited_by.full_name or invited_by.email,
            "roles": roles,
            "sites": sites,
            "set_password_url": set_password_url(user, request),
            "login_url": request.build_absolute_uri(reverse("account_login")),
            "link_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
        }
        get_adapter(request).send_mail("account/email/invitation", user.email, context)
