"""`Authorization: Token <key>` with the bank's own tokens (imagebank.services.tokens), for the
API (REST_FRAMEWORK's default and BankAPIMixin) and the file views; and how to tell that a
browser session passed a second factor.
"""

from allauth.account.authentication import get_authentication_records
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from imagebank.services import tokens as token_services


class ApiTokenAuthentication(BaseAuthentication):
    """The header DRF's TokenAuthentication reads, checked against the bank's hashed, expiring,
    revocable tokens. `request.auth` is the ApiToken."""

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(
                _("Invalid token header: give `Token` and the key, separated by one space.")
            )
        try:
            raw_key = parts[1].decode()
        except UnicodeError:
            raise AuthenticationFailed(_("Invalid token.")) from None
        django_request = getattr(request, "_request", request)
        try:
            token = token_services.authenticate_key(raw_key, request=django_request)
        except token_services.TokenRefused as refusal:
            raise AuthenticationFailed(str(refusal)) from None
        return token.owner, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How drf-spectacular documents the header."""

    target_class = "imagebank.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'A bank API token, with the prefix "Token": `Token ib_…`.',
        }


def session_passed_second_factor(request: HttpRequest) -> bool:
    """Whether the signed-in user gave a second factor in this browser session: allauth records
    each authentication method of the session (`mfa` after a TOTP code, a recovery code or a
    security key, at sign-in or when asked again)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return False
    return any(
        record.get("method") == "mfa" for record in get_authentication_records(request, user)
    )
