"""API tokens: exchange an email address and password for a token."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from imagebank.api.base import BankAPIMixin
from imagebank.api.serializers import TokenRequestSerializer, TokenSerializer


@extend_schema(tags=["auth"], request=TokenRequestSerializer, responses=TokenSerializer)
class ObtainTokenView(BankAPIMixin, APIView):
    """Exchange an email address and password for an API token (header `Authorization: Token …`).

    DRF's obtain_auth_token expects a username; users here sign in with their email address.
    """

    permission_classes = [AllowAny]
    # No session authentication: the endpoint must not need a CSRF token, and takes no cookie.
    authentication_classes: list = []
    throttle_classes = [AnonRateThrottle]

    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            email=serializer.validated_data["email"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise DRFValidationError(
                {"non_field_errors": [_("Unable to sign in with this email and password.")]}
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response(TokenSerializer({"token": token.key}).data)
