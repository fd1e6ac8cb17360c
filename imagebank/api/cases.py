"""Cases: list, read, create, edit, submit, and a case's images.

Views are thin: querysets come from imagebank.selectors (so an object the user may not see is a
404, never a 403), and every write goes through imagebank.services, which check permissions again.
Every view names its permission classes; the project default (DenyAll) refuses everyone.
"""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from imagebank import selectors
from imagebank.api.base import BankAPIMixin, is_schema_generation
from imagebank.api.filters import CaseListQuery, QueryFilterMixin
from imagebank.api.schema import errors
from imagebank.api.serializers import (
    CaseCreateSerializer,
    CaseSerializer,
    CaseUpdateSerializer,
    ImageSerializer,
    ImageUploadSerializer,
)
from imagebank.models import Case
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.services.cases import CLINICAL_FIELDS

# What PUT resets an omitted clinical field to: PUT replaces, PATCH amends.
_CLINICAL_DEFAULTS = {field: Case._meta.get_field(field).get_default() for field in CLINICAL_FIELDS}


@extend_schema(tags=["cases"])
@extend_schema_view(
    # The list's query parameters come from query_serializer_class (imagebank.api.schema).
    create=extend_schema(request=CaseCreateSerializer, responses={201: CaseSerializer}),
    update=extend_schema(request=CaseUpdateSerializer, responses=CaseSerializer),
    partial_update=extend_schema(request=CaseUpdateSerializer, responses=CaseSerializer),
)
class CaseViewSet(
    BankAPIMixin,
    QueryFilterMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Cases the user may see. Contributors create and edit their own site's drafts."""

    permission_classes = [IsAuthenticated]
    serializer_class = CaseSerializer
    query_serializer_class = CaseListQuery

    def get_queryset(self) -> QuerySet[Case]:
        if is_schema_generation(self):
            return Case.objects.none()
        # case_list groups by case (the image count), and Django drops Meta.ordering from grouped
        # queries: without an explicit order, pages could repeat or skip cases.
        return selectors.case_list(self.request.user).order_by("-created_at", "-pk")

    def filter_by_query(self, queryset: QuerySet[Case], query: dict[str, Any]) -> QuerySet[Case]:
        if "site" in query:
            queryset = queryset.filter(site_id=query["site"])
        if query.get("state"):
            queryset = queryset.filter(state=query["state"])
        if query.get("search"):
            queryset = queryset.filter(selectors.case_search(query["search"]))
        reference = " ".join(query.get("source_reference", "").split())
        if reference:
            queryset = queryset.filter(source_reference__iexact=reference)
        return queryset

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
        # Sent or not (None: left as it is), PUT included: consent is not clinical metadata.
        consent_attested = values.pop("consent_attested", None)
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
            consent_attested=consent_attested,
        )
        return Response(self._represent(case))

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: CaseSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Hand the case to review; every image must be processed, and the case must have what
        its site requires: a 400 names each missing item by its requirement code. A case that
        has already left the contributor's hands is a 409 (docs/api.md)."""
        # The service refuses outsiders (403) and names an illegal transition (409).
        case = case_services.submit_case(case=self.get_object(), actor=request.user)
        return Response(self._represent(case))

    @extend_schema(methods=["GET"], request=None, responses=ImageSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=ImageUploadSerializer, responses={201: ImageSerializer}
    )
    @action(
        detail=True,
        methods=["get", "post"],
        # A file is sent: multipart only (a form-encoded or JSON body cannot carry it).
        parser_classes=[MultiPartParser],
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
