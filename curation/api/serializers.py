"""Serializers of curation's API: shapes and validation only, no writes (those go through
services).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from imagebank.api.base import RefuseUnknownFields


class SimilarUploadSerializer(RefuseUnknownFields, serializers.Serializer):
    # Empty files are let through: the bank's own checks refuse them with a message naming them.
    file = serializers.FileField(
        allow_empty_file=True,
        use_url=False,
        help_text=_("The file to look up (JPEG, PNG, TIFF or DICOM); it is never stored."),
    )


class MatchSerializer(serializers.Serializer):
    """One image of the bank that matches the file (curation.fingerprints.Match)."""

    image = serializers.IntegerField()
    case = serializers.IntegerField()
    site = serializers.SlugField(help_text=_("The slug of the case's site."))
    original_filename = serializers.CharField(
        allow_null=True,
        help_text=_(
            "The name the file was sent under; null for those who may not see file names "
            "(reviewers)."
        ),
    )
    original_sha256 = serializers.CharField(help_text=_("SHA-256 of the file as received."))
    kind = serializers.ChoiceField(
        choices=[("exact", _("exact")), ("near", _("near"))],
        help_text=_(
            "exact: the same file, as received or as stored; near: its perceptual hash is within "
            "the near-duplicate radius."
        ),
    )
    distance = serializers.IntegerField(
        min_value=0,
        help_text=_("Bits that differ between the perceptual hashes; 0 for an exact match."),
    )


class SimilarAnswerSerializer(serializers.Serializer):
    file = serializers.CharField(help_text=_("The name of the file sent."))
    matches = MatchSerializer(many=True, help_text=_("Exact matches first, then the closest."))
