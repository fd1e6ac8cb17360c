"""Serializers of the public release API (curation.api.releases): what the catalogue shows of a
published version, metadata only (curation.release_selectors.catalogue_entry)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


def _counts() -> serializers.DictField:
    """{split: n} or {value: n}: counts only (a new field each time: DRF binds fields)."""
    return serializers.DictField(child=serializers.IntegerField(min_value=0))


class ReleaseVersionSummarySerializer(serializers.Serializer):
    """One published version in the list."""

    slug = serializers.SlugField(help_text=_("The release's slug."))
    title = serializers.CharField(help_text=_("The release's title."))
    version = serializers.CharField(help_text=_("A semantic version, such as 1.0.0."))
    published_at = serializers.DateTimeField()
    images = serializers.IntegerField(min_value=0, help_text=_("How many images it holds."))
    bytes = serializers.IntegerField(min_value=0, help_text=_("The size of its images, in bytes."))
    licence = serializers.CharField(help_text=_("The licence's name."))
    url = serializers.URLField(help_text=_("Its page in the public catalogue."))


class LicenceSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.CharField(allow_blank=True)


class ReleaseLabelSerializer(serializers.Serializer):
    name = serializers.CharField(help_text=_("The label's column in the manifest."))
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)


class SplitCountsSerializer(serializers.Serializer):
    cases = serializers.IntegerField(min_value=0)
    subjects = serializers.IntegerField(min_value=0)
    images = serializers.IntegerField(min_value=0)


class ChangelogLineSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text=_("added, removed, relabelled, image_excluded or image_added.")
    )
    count = serializers.IntegerField(min_value=0)
    why = serializers.CharField(allow_blank=True)


class ReleaseFileSerializer(serializers.Serializer):
    path = serializers.CharField()
    sha256 = serializers.CharField()
    bytes = serializers.IntegerField(min_value=0)
    encoding = serializers.CharField(help_text=_("Its MIME type."))


class ReleaseVersionDetailSerializer(serializers.Serializer):
    """A published version: what its catalogue page shows."""

    slug = serializers.SlugField()
    title = serializers.CharField()
    version = serializers.CharField()
    description = serializers.CharField()
    published_at = serializers.DateTimeField()
    licence = LicenceSerializer()
    citation = serializers.CharField()
    bibtex = serializers.CharField()
    images = serializers.IntegerField(min_value=0)
    bytes = serializers.IntegerField(min_value=0)
    labels = ReleaseLabelSerializer(many=True)
    splits = serializers.DictField(
        child=SplitCountsSerializer(), help_text=_("Per split (train, validation, test).")
    )
    label_distribution = serializers.DictField(
        child=serializers.DictField(child=_counts()),
        help_text=_(
            "{label: {split: {value: cases}}}; a case without a value counts as “missing”. "
            "Counts only: no image's or case's label is ever given."
        ),
    )
    sites = serializers.DictField(child=_counts(), help_text=_("{site: {split: cases}}."))
    steps = serializers.DictField(child=_counts(), help_text=_("{step: {split: images}}."))
    changelog = ChangelogLineSerializer(many=True)
    changelog_note = serializers.CharField(allow_blank=True)
    files = ReleaseFileSerializer(many=True)
