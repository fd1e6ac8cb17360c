"""The public release API (docs/releases.md), read-only, open to anyone (signed in or not):

- `GET /api/releases/` the published versions, newest release version first within each release
  (paged like the bank's other lists);
- `GET /api/releases/{slug}/{version}/` one published version: what its catalogue page shows
  (counts, citation, licence, files' checksums). An unknown or unpublished version is a 404.

Metadata only (curation.release_selectors): never an image, a case or one image's label.
Throttled per client address (anonymous) or user, as DEFAULT_THROTTLE_RATES set.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from curation import release_selectors as selectors
from curation.api.release_serializers import (
    ReleaseVersionDetailSerializer,
    ReleaseVersionSummarySerializer,
)
from curation.models import ReleaseVersion
from imagebank.api.base import BankAPIMixin

TAGS = ["releases"]
PUBLIC = [AllowAny]
THROTTLES = [AnonRateThrottle, UserRateThrottle]


def _page_url(request: Request, version: ReleaseVersion) -> str:
    return request.build_absolute_uri(
        reverse("curation:release-version", args=[version.release.slug, version.version])
    )


class ReleaseListView(BankAPIMixin, ListAPIView):
    permission_classes = PUBLIC
    throttle_classes = THROTTLES
    serializer_class = ReleaseVersionSummarySerializer

    def get_queryset(self):
        return selectors.published_versions()

    @extend_schema(
        tags=TAGS,
        operation_id="releases_list",
        description=_("Every published release version (no sign-in needed)."),
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = [
            {
                "slug": version.release.slug,
                "title": version.release.title,
                "version": version.version,
                "published_at": version.published_at,
                "images": version.image_count,
                "bytes": version.total_bytes,
                "licence": version.licence_name,
                "url": _page_url(request, version),
            }
            for version in page
        ]
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class ReleaseDetailView(BankAPIMixin, APIView):
    permission_classes = PUBLIC
    throttle_classes = THROTTLES

    @extend_schema(
        tags=TAGS,
        operation_id="releases_retrieve",
        parameters=[
            OpenApiParameter(
                "slug",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                pattern=r"^[-a-zA-Z0-9_]{1,60}$",
                description=_("The release's short name."),
            ),
            OpenApiParameter(
                "version",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                pattern=r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$",
                description=_("A semantic version, e.g. 1.0.0."),
            ),
        ],
        responses=ReleaseVersionDetailSerializer,
        description=_(
            "One published release version: counts per split, label, site and step, the "
            "changelog's counts, citation (with BibTeX), licence, size and the files' SHA-256. "
            "404 for a version that is not published."
        ),
    )
    def get(self, request: Request, slug: str, version: str) -> Response:
        found = selectors.public_version(slug, version)
        if found is None:
            raise NotFound()
        entry = selectors.catalogue_entry(found)
        return Response(ReleaseVersionDetailSerializer(entry).data)
