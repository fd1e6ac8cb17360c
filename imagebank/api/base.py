"""What every API view of the bank shares: the exception handler, the 409 answer, the mixin that
puts token authentication first, the validated page numbers, the JSON 404 for unknown API paths,
and the test for drf-spectacular's schema pass.

Public on purpose: the apps above the core build their API views on these.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import APIRootView
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from imagebank.authentication import ApiTokenAuthentication
from imagebank.lifecycle import IllegalTransition


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The object is not in a state that allows this.")
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the exceptions our services raise.

    Django's ValidationError becomes a 400 with the field errors it carries; IllegalTransition
    (a lifecycle rule) a 409. Django's PermissionDenied is already a 403 in DRF's own handler.
    """
    if isinstance(exc, DjangoValidationError):
        exc = DRFValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, IllegalTransition):
        exc = Conflict(detail=str(exc))
    elif isinstance(exc, DjangoPermissionDenied) and exc.args:
        # Keep the service's message ("This case cannot be changed…") instead of DRF's generic one.
        exc = PermissionDenied(detail=str(exc))
    return drf_exception_handler(exc, context)


class BankPagination(PageNumberPagination):
    """DRF's page numbers, with `page` validated: anything but a whole number from 1 (or DRF's
    `last`) is a 400 naming `page`; a page past the last one stays DRF's 404 ("Invalid page.")."""

    def get_page_number(self, request, paginator) -> int:
        sent = request.query_params.get(self.page_query_param)
        if sent is None:
            return 1
        if sent in self.last_page_strings:
            return paginator.num_pages
        try:
            return serializers.IntegerField(min_value=1).run_validation(sent)
        except DRFValidationError as error:
            raise DRFValidationError({self.page_query_param: error.detail}) from None

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters


class RefuseUnknownFields:
    """Serializer mixin: a body key the serializer does not declare is a 400 naming it, not
    silently dropped (a misspelt `expires_in_day` must not give a token the default life)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data = getattr(self, "initial_data", None)
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise DRFValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().validate(attrs)


class BankAPIMixin:
    """Uses our exception handler whatever REST_FRAMEWORK["EXCEPTION_HANDLER"] says.

    Token authentication comes first so that a request without valid credentials gets a 401 with
    `WWW-Authenticate: Token` (DRF answers 403 when the first class is session authentication).
    """

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]

    pagination_class = BankPagination

    def get_exception_handler(self):
        return exception_handler


def is_schema_generation(view) -> bool:
    # drf-spectacular instantiates views without a real user to read their querysets.
    return getattr(view, "swagger_fake_view", False)


class BankAPIRootView(BankAPIMixin, APIRootView):
    permission_classes = [IsAuthenticated]


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The root URL conf's handler404: under /api/ a path that matches no route (a typo, an id
    that is not a number) is answered in JSON like every other API error; elsewhere Django's page.
    """
    if request.path_info.startswith("/api/"):
        # DRF's own wording (and its translations), as its views answer for an unknown object.
        return JsonResponse({"detail": str(NotFound.default_detail)}, status=NotFound.status_code)
    return defaults.page_not_found(request, exception)
