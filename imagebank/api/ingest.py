"""API of imports: send a case package, an IARC folder as ZIP, a DICOM file or an image."""

import os
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from imagebank import selectors
from imagebank.api.base import BankAPIMixin, is_schema_generation
from imagebank.api.filters import QueryFilterMixin, id_field
from imagebank.api.schema import errors
from imagebank.ingest.accepted import check_import_file
from imagebank.ingest.run_outcome import run_outcome
from imagebank.ingest.runs import run_ingest
from imagebank.models import Image, IngestRun
from imagebank.permissions import can_contribute_to

SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_KNOWN_QUERY = 10_000


class IngestRunSerializer(serializers.ModelSerializer):
    outcome = serializers.SerializerMethodField(
        help_text=_(
            "What the run came to: queued, running, failed, done, done_with_errors, "
            "nothing_imported or nothing_new (derived from status and the report's summary)."
        )
    )
    outcome_label = serializers.SerializerMethodField(help_text=_("The outcome in words."))

    class Meta:
        model = IngestRun
        fields = [
            "id",
            "site",
            "source_name",
            "status",
            "outcome",
            "outcome_label",
            "started_at",
            "finished_at",
            "report",
        ]
        read_only_fields = fields

    def get_outcome(self, run: IngestRun) -> str:
        return run_outcome(run.status, run.summary).code

    def get_outcome_label(self, run: IngestRun) -> str:
        return str(run_outcome(run.status, run.summary).label)


class IngestUploadSerializer(serializers.Serializer):
    site = id_field(help_text=_("The id of a site you contribute to."))
    file = serializers.FileField()
    submit = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("Submit every imported case for review once imported."),
    )


class KnownQuerySerializer(serializers.Serializer):
    site = id_field(help_text=_("The id of a site you contribute to."))
    sha256 = serializers.ListField(child=serializers.CharField(), max_length=MAX_KNOWN_QUERY)


class KnownAnswerSerializer(serializers.Serializer):
    known = serializers.ListField(child=serializers.CharField())


def _contributable_site(user, site_id: int):
    site = get_object_or_404(selectors.sites_for_user(user), pk=site_id)
    if not can_contribute_to(user, site):
        raise ValidationError({"site": [_("You do not contribute to this site.")]})
    return site


@extend_schema(tags=["ingest"])
class IngestViewSet(
    BankAPIMixin,
    QueryFilterMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Imports into a site you contribute to, with their reports."""

    permission_classes = [IsAuthenticated]
    serializer_class = IngestRunSerializer
    # An import sends a file: multipart only; `known` reads JSON (its own parser_classes).
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        if is_schema_generation(self):
            return IngestRun.objects.none()
        return selectors.ingest_runs_for_user(self.request.user)

    # 404: a site that is not yours (its existence is not revealed).
    @extend_schema(
        request=IngestUploadSerializer, responses={201: IngestRunSerializer, **errors(404)}
    )
    def create(self, request, *args, **kwargs):
        """Import one file (ZIP of an IARC folder or a case package, DICOM, JPEG, PNG, TIFF).

        Any other file (by its extension and first bytes) is refused with a 400 naming it.

        The import runs while the request waits and answers with its report; each case is stored
        with all its valid images or not at all, and files already in the site are skipped.
        """
        upload = IngestUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        site = _contributable_site(request.user, upload.validated_data["site"])
        sent = upload.validated_data["file"]
        if sent.size > settings.INGEST_MAX_UPLOAD_BYTES:
            raise ValidationError(
                {
                    "file": [
                        _("%(file)s is larger than the %(limit)s MB the bank accepts.")
                        % {
                            "file": os.path.basename(sent.name or "upload"),
                            "limit": settings.INGEST_MAX_UPLOAD_BYTES // (1024 * 1024),
                        }
                    ]
                }
            )
        # The kinds the import page offers, by name and first bytes: anything else is a 400
        # naming the file, and no run is made for it.
        check_import_file(sent, sent.name or "")
        name = os.path.basename(sent.name or "upload")
        with tempfile.TemporaryDirectory(prefix="api-ingest-") as folder:
            path = Path(folder) / name
            with path.open("wb") as handle:
                for chunk in sent.chunks():
                    handle.write(chunk)
            run = run_ingest(
                site=site,
                actor=request.user,
                paths=[path],
                source_name=name,
                submit=upload.validated_data["submit"],
            )
        return Response(IngestRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=KnownQuerySerializer, responses={200: KnownAnswerSerializer, **errors(404)}
    )
    @action(detail=False, methods=["post"], parser_classes=[JSONParser])
    def known(self, request):
        """Which of these SHA-256 hashes (of files as sent) are already in the site: a client
        skips them when it resumes."""
        query = KnownQuerySerializer(data=request.data)
        query.is_valid(raise_exception=True)
        site = _contributable_site(request.user, query.validated_data["site"])
        hashes = {h.lower() for h in query.validated_data["sha256"] if SHA256.match(h.lower())}
        known = Image.objects.received_in_site(site, hashes).values_list(
            "original_sha256", flat=True
        )
        return Response({"known": sorted(set(known))})
