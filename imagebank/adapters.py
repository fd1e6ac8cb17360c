"""The allauth account adapter (ACCOUNT_ADAPTER): who may sign up, whose address counts as
verified, and when a fresh sign-in counts as having given the password again.

Accounts are given out, not taken: open sign-up (SIGNUP_OPEN, on by default) gives nothing but a
researcher account, who then requests access to a release; which role a new sign-up gets is the
business of the app that owns the role (access_requests.signals), not of the core. Every other
role's account is made by a curator's invitation (imagebank.services.accounts).
"""

import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.models import EmailAddress
from allauth.core import context
from django.conf import settings
from django.http import HttpRequest

from imagebank.client_address import client_ip


class BankAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(getattr(settings, "SIGNUP_OPEN", False))

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address allauth's own rate limits count by: the same one as django-axes and the
        read audit (imagebank.client_address), read behind TRUSTED_PROXY_COUNT trusted proxies;
        allauth's own reading answers a 500 when X-Forwarded-For is shorter than that count."""
        return client_ip(request) or "0.0.0.0"  # noqa: S104 - a key for counting, not a bind

    def pre_login(self, request: HttpRequest, user, **kwargs):
        vouch_for_address_of_created_account(user)
        return super().pre_login(request, user, **kwargs)

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """A password (or code) given to sign in moments ago counts as given again.

        allauth asks for the password again before two-factor set-up, as before every sensitive
        account change, unless it was re-entered in the last REAUTHENTICATION_TIMEOUT seconds;
        it does not count the sign-in itself. So a curator who had just signed in, and whom the
        bank then sends to set up two-factor authentication, was asked for the password a
        second time. A sign-in within the same window is as fresh a proof as a re-entry.
        """
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        request = self.request or context.request
        return not signed_in_moments_ago(request)


def signed_in_moments_ago(request: HttpRequest | None) -> bool:
    from allauth.account import app_settings

    if request is None or not request.user.is_authenticated:
        return False
    records = get_authentication_records(request, request.user)
    if not records:
        return False
    latest = max(float(record.get("at", 0)) for record in records)
    return time.time() - latest < app_settings.REAUTHENTICATION_TIMEOUT


def vouch_for_address_of_created_account(user) -> None:
    """The address of an account made by an administrator counts as verified at its first
    sign-in.

    Email verification is mandatory (that is what lets sign-up answer the same for a known and
    an unknown address). A sign-up or an added address always has its EmailAddress row, made
    unverified until its link is followed; an invitation makes its row verified (the invited
    person can only set a password through the link mailed to it). An account without any row
    was made by `createsuperuser`, the admin or a script, by someone who vouched for the address.
    """
    if user.pk is None or not user.email:
        return
    if EmailAddress.objects.filter(user=user).exists():
        return
    EmailAddress.objects.get_or_create(
        user=user, email=user.email.lower(), defaults={"verified": True, "primary": True}
    )
