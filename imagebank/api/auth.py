"""API tokens: exchange an email address, a password and (where needed) a second factor for a
token.

A user who has two-factor authentication set up, or whose role requires it, must send `otp`: a
code from the authenticator app or a recovery code, checked by allauth.mfa. A user whose role
requires it but who has not set it up is told to do so on the site first (403). The password goes
through django.contrib.auth.authenticate with the request, so django-axes counts failures (and a
wrong code is reported to it as a failed login too).
"""

from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied, Throttled
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from imagebank.api.base import BankAPIMixin
from imagebank.api.tokens import (
    IssuedTokenSerializer,
    ObtainTokenRequestSerializer,
    issued_token_data,
)
from imagebank.services import tokens as token_services

DEFAULT_TOKEN_NAME = "API token"  # noqa: S105  (a name, not a secret)


@extend_schema(
    tags=["auth"],
    request=ObtainTokenRequestSerializer,
    responses={
        200: IssuedTokenSerializer,
        400: OpenApiResponse(
            description="Wrong email or password (`non_field_errors`), a missing or wrong code "
            "(`otp`), or another invalid field."
        ),
        403: OpenApiResponse(
            description="Two-factor authentication is required and not set up, or the account "
            "is locked out."
        ),
        429: OpenApiResponse(description="Too many attempts."),
    },
)
class ObtainTokenView(BankAPIMixin, APIView):
    """Exchange an email address and password (and `otp`, when two-factor applies) for a new API
    token (header `Authorization: Token …`). Each call issues a new named token, shown once.

    DRF's obtain_auth_token expects a username; users here sign in with their email address.
    """

    permission_classes = [AllowAny]
    # No session authentication: the endpoint must not need a CSRF token, and takes no cookie.
    authentication_classes: list = []
    throttle_classes = [AnonRateThrottle]

    def post(self, request: Request) -> Response:
        serializer = ObtainTokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        django_request = request._request
        user = authenticate(django_request, email=data["email"], password=data["password"])
        if user is None or not user.is_active:
            raise DRFValidationError(
                {"non_field_errors": [_("Unable to sign in with this email and password.")]}
            )
        has_second_factor = is_mfa_enabled(user)
        if token_services.second_factor_required(user) and not has_second_factor:
            raise PermissionDenied(
                _(
                    "Your role requires two-factor authentication: set it up on the site first "
                    "(sign in, then Account, Two-factor authentication), then ask again with a "
                    "code in `otp`."
                )
            )
        second_factor = False
        if has_second_factor:
            code = (data.get("otp") or "").strip()
            if not code:
                raise DRFValidationError(
                    {
                        "otp": [
                            _(
                                "Two-factor authentication is on for this account: send a code "
                                "from your authenticator app (or a recovery code) in `otp`."
                            )
                        ]
                    }
                )
            try:
                valid = token_services.verify_second_factor(user, code, django_request)
            except token_services.SecondFactorLimited:
                raise Throttled(
                    detail=_("Too many wrong codes: wait a few minutes, then try again.")
                ) from None
            if not valid:
                user_login_failed.send(
                    sender=__name__,
                    credentials={"email": data["email"], "password": "********"},
                    request=django_request,
                )
                raise DRFValidationError(
                    {"otp": [_("This code is not valid, or it was used already.")]}
                )
            second_factor = True
        issued = token_services.issue_token(
            owner=user,
            name=data.get("name") or DEFAULT_TOKEN_NAME,
            expires_in_days=data.get("expires_in_days"),
            second_factor=second_factor,
            request=django_request,
        )
        return Response(issued_token_data(issued))
