"""The caller's own API tokens: list, create (shown once), revoke.

Creating one needs the same second factor as the token page: a user who must give one (or has
one set up) creates tokens from a session that passed it, or with a token that was itself issued
after it. Someone else's token is a 404, like anything else not visible to the caller.
"""

from allauth.mfa.utils import is_mfa_enabled
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from imagebank.api.base import BankAPIMixin, RefuseUnknownFields, is_schema_generation
from imagebank.authentication import session_passed_second_factor
from imagebank.models import ApiToken
from imagebank.services import tokens as token_services

_MAX_ID = 2**63 - 1  # a BigAutoField

# --- serializers ---------------------------------------------------------------------------------


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as its owner sees it: never the secret (it is not stored)."""

    prefix = serializers.CharField(read_only=True, help_text=gettext_lazy("The key's start."))
    active = serializers.BooleanField(
        source="is_active", read_only=True, help_text=gettext_lazy("Neither revoked nor expired.")
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "second_factor",
            "created_at",
            "expires_at",
            "last_used_at",
            "last_used_from",
            "revoked_at",
            "revoked_reason",
            "active",
        ]
        read_only_fields = fields


class IssuedTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True,
        help_text=gettext_lazy(
            "The key, to send as `Authorization: Token <key>`. Shown this once only."
        ),
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]
        read_only_fields = fields


def issued_token_data(issued: token_services.IssuedToken) -> dict:
    data = dict(ApiTokenSerializer(issued.token).data)
    return {"token": issued.raw_key, **data}


class _ExpiryField(serializers.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            min_value=1,
            help_text=gettext_lazy(
                "Days until the token expires; default API_TOKEN_DEFAULT_DAYS, at most "
                "API_TOKEN_MAX_DAYS."
            ),
            **kwargs,
        )


class CreateTokenSerializer(RefuseUnknownFields, serializers.Serializer):
    name = serializers.CharField(
        max_length=token_services.NAME_MAX_LENGTH,
        help_text=gettext_lazy("What the token is for, e.g. the computer that uses it."),
    )
    expires_in_days = _ExpiryField()

    def validate_expires_in_days(self, value: int) -> int:
        try:
            return token_services.validate_expires_in_days(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["expires_in_days"]) from None


class ObtainTokenRequestSerializer(RefuseUnknownFields, serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        write_only=True,
        help_text=gettext_lazy(
            "A code from your authenticator app, or one of your recovery codes: required when "
            "two-factor authentication is set up or your role requires it."
        ),
    )
    name = serializers.CharField(
        required=False,
        max_length=token_services.NAME_MAX_LENGTH,
        help_text=gettext_lazy("What the token is for (default: “API token”)."),
    )
    expires_in_days = _ExpiryField()

    validate_expires_in_days = CreateTokenSerializer.validate_expires_in_days


# --- views ---------------------------------------------------------------------------------------


def credential_passed_second_factor(request: Request) -> bool:
    """Whether this request's credential stands on a second factor: a token issued after one,
    or a browser session that gave one."""
    if isinstance(request.auth, ApiToken):
        return request.auth.second_factor
    return session_passed_second_factor(request._request)


@extend_schema_view(
    list=extend_schema(summary="Your API tokens, newest first (never their secrets)."),
    create=extend_schema(
        summary="Create an API token (the key is in this answer only).",
        request=CreateTokenSerializer,
        responses={
            201: IssuedTokenSerializer,
            400: OpenApiResponse(description="A field is invalid, or too many active tokens."),
            403: OpenApiResponse(description="A second factor is needed first."),
        },
    ),
    destroy=extend_schema(
        summary="Revoke one of your tokens.",
        responses={204: None, 404: OpenApiResponse(description="Not one of your tokens.")},
    ),
)
@extend_schema(tags=["auth"])
class ApiTokenViewSet(
    BankAPIMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's own tokens; anyone signed in (by session or token) manages theirs."""

    permission_classes = [IsAuthenticated]
    serializer_class = ApiTokenSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[ApiToken]:
        if is_schema_generation(self):
            return ApiToken.objects.none()
        return token_services.tokens_of(self.request.user)

    def get_object(self) -> ApiToken:
        # Only a key the table can hold is looked up: anything else is no token of the caller's
        # (SQLite cannot even compare a number past 64 bits: an OverflowError, not a 404).
        sent = str(self.kwargs["pk"])
        if not (sent.isascii() and sent.isdigit()) or not 1 <= int(sent) <= _MAX_ID:
            raise NotFound()
        return get_object_or_404(self.get_queryset(), pk=int(sent))

    def create(self, request: Request, *args, **kwargs) -> Response:
        form = CreateTokenSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = request.user
        needs_second_factor = token_services.second_factor_required(user) or is_mfa_enabled(user)
        if needs_second_factor and not credential_passed_second_factor(request):
            raise PermissionDenied(
                _(
                    "Creating a token needs your second factor: sign in with your code, or use "
                    "a token that was issued with it, or POST /api/auth/token/ with `otp`."
                )
            )
        issued = token_services.issue_token(
            owner=user,
            name=form.validated_data["name"],
            expires_in_days=form.validated_data.get("expires_in_days"),
            second_factor=credential_passed_second_factor(request),
            request=request._request,
        )
        return Response(issued_token_data(issued), status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        token = self.get_object()
        token_services.revoke_token(token=token, actor=request.user, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
