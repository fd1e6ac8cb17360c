"""The core's REST API: sites, cases, images and API tokens.

Views are thin: querysets come from imagebank.selectors (so an object the user may not see is a
404, never a 403), and every write goes through imagebank.services, which check permissions again.
Every view names its permission classes; the project default (DenyAll) refuses everyone.
"""

from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import APIRootView
from rest_framework.serializers import as_serializer_error
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from imagebank import selectors
from imagebank.lifecycle import CaseState, IllegalTransition
from imagebank.models import Case, Image, Site
from imagebank.serializers import (
    CaseCreateSerializer,
    CaseSerializer,
    CaseUpdateSerializer,
    ImagePlacementSerializer,
    ImageSerializer,
    ImageUploadSerializer,
    SiteSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.services.cases import CLINICAL_FIELDS

# What PUT resets an omitted clinical field to: PUT replaces, PATCH amends.
_CLINICAL_DEFAULTS = {field: Case._meta.get_field(field).get_default() for field in CLINICAL_FIELDS}


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


class _BankAPIMixin:
    """Uses our exception handler whatever REST_FRAMEWORK["EXCEPTION_HANDLER"] says.

    Token authentication comes first so that a request without valid credentials gets a 401 with
    `WWW-Authenticate: Token` (DRF answers 403 when the first class is session authentication).
    """

    authentication_classes = [TokenAuthentication, SessionAuthentication]

    def get_exception_handler(self):
        return exception_handler


def _fake(view) -> bool:
    # drf-spectacular instantiates views without a real user to read their querysets.
    return getattr(view, "swagger_fake_view", False)


class BankAPIRootView(_BankAPIMixin, APIRootView):
    permission_classes = [IsAuthenticated]


@extend_schema(tags=["sites"])
class SiteViewSet(_BankAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Sites the user belongs to; reviewers and curators see every site."""

    permission_classes = [IsAuthenticated]
    serializer_class = SiteSerializer

    def get_queryset(self) -> QuerySet[Site]:
        if _fake(self):
            return Site.objects.none()
        return selectors.sites_for_user(self.request.user)


@extend_schema(tags=["cases"])
@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "site", OpenApiTypes.INT, description=gettext_lazy("Only this site's cases.")
            ),
            OpenApiParameter("state", OpenApiTypes.STR, enum=CaseState.values),
            OpenApiParameter(
                "search",
                OpenApiTypes.STR,
                description=gettext_lazy(
                    "Cases whose source reference contains this text (any case), or whose "
                    "number it is."
                ),
            ),
            OpenApiParameter(
                "source_reference",
                OpenApiTypes.STR,
                description=gettext_lazy("Cases with exactly this source reference (any case)."),
            ),
        ]
    ),
    create=extend_schema(request=CaseCreateSerializer, responses={201: CaseSerializer}),
    update=extend_schema(request=CaseUpdateSerializer, responses=CaseSerializer),
    partial_update=extend_schema(request=CaseUpdateSerializer, responses=CaseSerializer),
)
class CaseViewSet(
    _BankAPIMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Cases the user may see. Contributors create and edit their own site's drafts."""

    permission_classes = [IsAuthenticated]
    serializer_class = CaseSerializer

    def get_queryset(self) -> QuerySet[Case]:
        if _fake(self):
            return Case.objects.none()
        # case_list groups by case (the image count), and Django drops Meta.ordering from grouped
        # queries: without an explicit order, pages could repeat or skip cases.
        return selectors.case_list(self.request.user).order_by("-created_at", "-pk")

    def list(self, request: Request, *args, **kwargs) -> Response:
        cases = self.get_queryset()
        site = request.query_params.get("site")
        if site:
            if not site.isdigit():
                raise DRFValidationError({"site": [_("Give a site id.")]})
            cases = cases.filter(site_id=int(site))
        state = request.query_params.get("state")
        if state:
            if state not in CaseState.values:
                raise DRFValidationError(
                    {"state": [_("“%(state)s” is not a case state.") % {"state": state}]}
                )
            cases = cases.filter(state=state)
        search = request.query_params.get("search", "").strip()
        if search:
            cases = cases.filter(selectors.case_search(search))
        reference = request.query_params.get("source_reference")
        if reference is not None and reference.strip():
            cases = cases.filter(source_reference__iexact=" ".join(reference.split()))
        page = self.paginate_queryset(cases)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = CaseCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        case = case_services.create_case(
            site=values.pop("site"),
            actor=request.user,
            local_patient_id=values.pop("local_patient_id"),
            **values,
        )
        return Response(self._represent(case), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        partial = kwargs.pop("partial", False)
        case = self.get_object()
        serializer = CaseUpdateSerializer(
            data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        reason = values.pop("reason", "")
        # PUT replaces the reference too (omitted: none); PATCH leaves it unless it is sent.
        reference = values.pop("source_reference", None if partial else "")
        if not partial:
            values = {**_CLINICAL_DEFAULTS, **values}
        case = case_services.update_case(
            case=case,
            actor=request.user,
            values=values,
            reason=reason,
            source_reference=reference,
        )
        return Response(self._represent(case))

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)

    @extend_schema(request=None, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Hand the case to review; every image must be processed, and the case must have what
        its site requires: a 400 names each missing item by its requirement code."""
        case = case_services.submit_case(case=self.get_object(), actor=request.user)
        return Response(self._represent(case))

    @extend_schema(methods=["GET"], request=None, responses=ImageSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=ImageUploadSerializer, responses={201: ImageSerializer}
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[MultiPartParser, FormParser],
        serializer_class=ImageSerializer,
        pagination_class=None,
    )
    def images(self, request: Request, pk: str | None = None) -> Response:
        """The case's images in display order; POST uploads one (multipart)."""
        case = self.get_object()
        if request.method == "GET":
            images = selectors.images_for_user(request.user).filter(case=case)
            serializer = ImageSerializer(
                images.order_by("display_order"), many=True, context=self.get_serializer_context()
            )
            return Response(serializer.data)
        upload = ImageUploadSerializer(data=request.data, context=self.get_serializer_context())
        upload.is_valid(raise_exception=True)
        values = dict(upload.validated_data)
        file = values.pop("file")
        image = image_services.add_image(
            case=case, actor=request.user, fileobj=file, filename=file.name, **values
        )
        return Response(
            ImageSerializer(image, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def _represent(self, case: Case) -> dict[str, Any]:
        # Re-read through the selector: the response shows what the user can see, counts included.
        fresh = selectors.case_list(self.request.user).filter(pk=case.pk).first() or case
        return CaseSerializer(fresh, context=self.get_serializer_context()).data


@extend_schema(tags=["images"])
@extend_schema_view(
    partial_update=extend_schema(request=ImagePlacementSerializer, responses=ImageSerializer)
)
class ImageViewSet(
    _BankAPIMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """One image; changing its step or position, or removing it, is allowed while its case is in
    the contributor's hands."""

    permission_classes = [IsAuthenticated]
    serializer_class = ImageSerializer

    def get_queryset(self) -> QuerySet[Image]:
        if _fake(self):
            return Image.objects.none()
        return selectors.images_for_user(self.request.user)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        """Set the step (which confirms it) and/or the position of the image; the service
        checks that the case is editable by the user, as the case page does."""
        image = self.get_object()
        placement = ImagePlacementSerializer(data=request.data)
        placement.is_valid(raise_exception=True)
        values = placement.validated_data
        image_services.arrange_images(
            case=image.case,
            actor=request.user,
            placements={
                image.pk: image_services.Placement(
                    step=values.get("step"), order=values.get("display_order")
                )
            },
        )
        image.refresh_from_db()
        return Response(ImageSerializer(image, context=self.get_serializer_context()).data)

    def perform_destroy(self, instance: Image) -> None:
        image_services.remove_image(image=instance, actor=self.request.user)


@extend_schema(tags=["auth"], request=TokenRequestSerializer, responses=TokenSerializer)
class ObtainTokenView(_BankAPIMixin, APIView):
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
