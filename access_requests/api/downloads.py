"""`GET /api/access/downloads/`: the release versions the user may download now, each with its
grant and the download URLs, for scripts and the CLI (`imagebank releases`). Every URL is checked
again when it is followed (a grant revoked since refuses at once)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access_requests.services import downloads
from imagebank.api.base import BankAPIMixin
from imagebank.api.filters import QueryParameters, query_data
from imagebank.api.schema import ERROR_DESCRIPTIONS


class DownloadableQuery(QueryParameters):
    release = serializers.SlugField(
        required=False,
        max_length=60,
        trim_whitespace=False,
        help_text=_("Only the versions of this release (its slug)."),
    )


class DownloadableSerializer(serializers.Serializer):
    grant = serializers.IntegerField()
    release = serializers.CharField()
    version = serializers.CharField()
    archive_url = serializers.URLField()
    manifest_url = serializers.URLField()
    files_url_prefix = serializers.URLField(
        help_text=_("Append a file's path in the manifest to download that file.")
    )
    expires_at = serializers.DateTimeField()


def _entry(request: Request, grant, version) -> dict:
    args = [grant.pk, version.release.slug, version.version]
    archive = reverse("access_requests:download-archive", args=args)
    manifest = reverse("access_requests:download-manifest", args=args)
    files = reverse("access_requests:download-file", args=[*args, "x"])[: -len("x")]
    return {
        "grant": grant.pk,
        "release": version.release.slug,
        "version": version.version,
        "archive_url": request.build_absolute_uri(archive),
        "manifest_url": request.build_absolute_uri(manifest),
        "files_url_prefix": request.build_absolute_uri(files),
        "expires_at": grant.expires_at,
    }


class DownloadableVersionsView(BankAPIMixin, APIView):
    """The versions the authenticated user may download now, through which grant, until when."""

    permission_classes = [IsAuthenticated]
    pagination_class = None  # a plain list: a user holds few grants

    @extend_schema(
        parameters=[DownloadableQuery],
        responses={
            200: DownloadableSerializer(many=True),
            # The query is validated (an unknown parameter or a bad slug is named).
            400: OpenApiResponse(description=ERROR_DESCRIPTIONS[400]),
        },
    )
    def get(self, request: Request) -> Response:
        query = DownloadableQuery(data=query_data(request))
        query.is_valid(raise_exception=True)
        release = query.validated_data.get("release")
        entries = [
            _entry(request, grant, version)
            for grant, version in downloads.downloadable_now(request.user)
            if release is None or version.release.slug == release
        ]
        return Response(DownloadableSerializer(entries, many=True).data)
