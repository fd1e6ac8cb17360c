"""Cases: list, read, create, edit, submit, and a case's images.

Views are thin: querysets come from imagebank.selectors (so an object the user may not see is a
404, never a 403), and every write goes through imagebank.services, which check permissions again.
Every view names its permission classes; the project default (DenyAll) refuses everyone.
"""

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from imagebank import selectors
from imagebank.api.base import BankAPIMixin, is_schema_generation
from imagebank.api.serializers import (
    CaseCreateSerializer,
    CaseSerializer,
    CaseUpdateSerializer,
    ImageSerializer,
    ImageUploadSerializer,
)
from imagebank.lifecycle import CaseState
from imagebank.models import Case
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.services.cases import CLINICAL_FIELDS

# What PUT resets an omitted clinical field to: PUT replaces, PATCH amends.
_CLINICAL_DEFAULTS = {field: Case._meta.get_field(field).get_default() for field in CLINICAL_FIELDS}


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
    BankAPIMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Cases the user may see. Contributors create and edit their own site's drafts."""

    permission_classes = [IsAuthenticated]
    serializer_class = CaseSerializer

    def get_queryset(self) -> QuerySet[Case]:
        if is_schema_generation(self):
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
