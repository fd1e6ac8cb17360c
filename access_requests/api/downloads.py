"""`GET /api/access/downloads/`: the release versions the user may download now, each with its
grant, the download URLs and the version's own files with their checksums, for scripts and the
CLI (`imagebank releases`, `imagebank download`). Every URL is checked again when it is followed
(a grant revoked since refuses at once).

`files` lists what is not in the manifest: the release's own files (manifest.csv among them, so
a client can verify the manifest before trusting its rows) and AGREEMENT.txt as the caller
signed it, so a client can check every byte it fetches. AGREEMENT.txt is left out when the
caller has not signed the agreement in force (a download answers 403 with the page to sign on)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access_requests.services import agreements, downloads
from curation.models import ReleaseFile
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


class DownloadFileSerializer(serializers.Serializer):
    path = serializers.CharField(help_text=_("The file's path in the release."))
    sha256 = serializers.CharField()
    bytes = serializers.IntegerField()


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
    image_count = serializers.IntegerField()
    files = DownloadFileSerializer(
        many=True,
        help_text=_(
            "The version's files that are not in the manifest (the manifest itself among them), "
            "and AGREEMENT.txt when the agreement in force is signed."
        ),
    )


def _entry(request: Request, grant, version, own_files: list[dict]) -> dict:
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
        "image_count": version.image_count,
        "files": own_files,
    }


class _FilesOf:
    """The `files` of each entry: one query for a version's ReleaseFiles and one for a group's
    signature, each remembered for the request (a user's grants often share versions and
    groups)."""

    def __init__(self, user) -> None:
        self.user = user
        self.release_files: dict[int, list[dict]] = {}
        self.agreement: dict[int, dict | None] = {}

    def __call__(self, grant, version) -> list[dict]:
        if version.pk not in self.release_files:
            rows = ReleaseFile.objects.filter(version=version).order_by("path")
            self.release_files[version.pk] = list(rows.values("path", "sha256", "bytes"))
        if grant.group_id not in self.agreement:
            signature = agreements.signature_for_download(grant.group, self.user)
            member = (
                downloads.find_member(version, downloads.AGREEMENT_PATH, signature)
                if signature is not None
                else None
            )
            self.agreement[grant.group_id] = (
                {"path": member.path, "sha256": member.sha256, "bytes": member.size}
                if member is not None
                else None
            )
        agreement = self.agreement[grant.group_id]
        return [*self.release_files[version.pk], *([agreement] if agreement else [])]


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
        files_of = _FilesOf(request.user)
        entries = [
            _entry(request, grant, version, files_of(grant, version))
            for grant, version in downloads.downloadable_now(request.user)
            if release is None or version.release.slug == release
        ]
        return Response(DownloadableSerializer(entries, many=True).data)
