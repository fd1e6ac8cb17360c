"""`POST /api/images/similar/`: is this file already in the bank? For curators and reviewers."""

import os

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from curation import fingerprints
from curation.api.serializers import SimilarAnswerSerializer, SimilarUploadSerializer
from curation.checks.duplicate_check import bank_radius
from curation.roles import REVIEWER
from imagebank.api.base import BankAPIMixin
from imagebank.imaging.results import InvalidImage
from imagebank.models import Case
from imagebank.permissions import can_see_file_names
from imagebank.roles import CURATOR, has_role


def can_look_up_duplicates(user) -> bool:
    """Whether an image is already in the bank, whoever sent it, is for the people who judge
    and run the bank: reviewers, curators and superusers."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or has_role(user, CURATOR) or has_role(user, REVIEWER)


class CanLookUpDuplicates(BasePermission):
    def has_permission(self, request, view) -> bool:
        return can_look_up_duplicates(request.user)


def _shown(user, matches: list[fingerprints.Match]) -> list[dict]:
    """The matches as the user may see them: file names only for those who may see the case's
    (imagebank.permissions.can_see_file_names; not reviewers)."""
    cases = Case.objects.select_related("site").in_bulk({m.case for m in matches})
    allowed = {pk: can_see_file_names(user, case) for pk, case in cases.items()}
    return [
        {**m.as_dict(), "original_filename": m.original_filename if allowed[m.case] else None}
        for m in matches
    ]


class SimilarImagesView(BankAPIMixin, APIView):
    """Look an uploaded file up in the bank, without storing it: the images that are the same
    file (as received or as stored) and those that look like it (perceptual hash within the
    near-duplicate radius), anywhere in the bank."""

    permission_classes = [IsAuthenticated, CanLookUpDuplicates]
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["images"],
        operation_id="images_similar",
        request={"multipart/form-data": SimilarUploadSerializer},
        responses={200: SimilarAnswerSerializer},
    )
    def post(self, request: Request) -> Response:
        upload = SimilarUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        sent = upload.validated_data["file"]
        name = os.path.basename(sent.name or "upload")
        if sent.size > settings.MAX_UPLOAD_BYTES:
            raise ValidationError(
                {
                    "file": [
                        _("%(file)s is larger than the %(limit)s MB the bank accepts.")
                        % {"file": name, "limit": settings.MAX_UPLOAD_BYTES // (1024 * 1024)}
                    ]
                }
            )
        try:
            matches = fingerprints.matches_for_file(
                sent.read(), filename=name, radius=bank_radius()
            )
        except InvalidImage as error:
            raise ValidationError({"file": [str(error)]}) from error
        return Response({"file": name, "matches": _shown(request.user, matches)})
