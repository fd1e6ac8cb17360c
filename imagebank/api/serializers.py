"""DRF serializers of the core: thin shapes for input and output, no writes.

Input serializers only validate types and vocabulary codes; the services (imagebank.services) do
the writing and check everything again. Output serializers never show the local patient ID, which
the bank does not keep anyway.
"""

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from imagebank import vocabularies as vocab
from imagebank.lifecycle import CaseState
from imagebank.models import CODED_FIELDS, Case, Image, ProcessingStatus, Site
from imagebank.models.cases import CONSENT_BASIS
from imagebank.permissions import can_see_file_names
from imagebank.selectors import sites_for_user
from imagebank.services.cases import CLINICAL_FIELDS, SOURCE_REFERENCE_MAX_LENGTH

FILE_VARIANTS = ("original", "preview", "thumbnail")


def _finding_list(vocabulary: vocab.Vocabulary) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=vocabulary.choices), required=False
    )


def _clock_positions() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=12),
        required=False,
        help_text=_("Clock hours 1-12 where the lesion lies."),
    )


class _ClinicalFieldsMixin(serializers.ModelSerializer):
    """The clinical fields, typed: JSON lists become lists of codes or clock hours.

    ModelSerializer maps each coded CharField to a ChoiceField of its vocabulary, so an unknown
    code is refused with the field's name before the service sees it.
    """

    normal_findings = _finding_list(vocab.FINDING_LISTS["normal_findings"])
    grade_1_findings = _finding_list(vocab.FINDING_LISTS["grade_1_findings"])
    grade_2_findings = _finding_list(vocab.FINDING_LISTS["grade_2_findings"])
    non_specific_findings = _finding_list(vocab.FINDING_LISTS["non_specific_findings"])
    suspicious_for_invasion_findings = _finding_list(
        vocab.FINDING_LISTS["suspicious_for_invasion_findings"]
    )
    miscellaneous_findings = _finding_list(vocab.FINDING_LISTS["miscellaneous_findings"])
    lesion_clock_positions = _clock_positions()


class _OptionalBooleanField(serializers.BooleanField):
    """A boolean that is left alone when not sent, form-encoded bodies included (DRF would read
    an absent form field as false)."""

    default_empty_html = empty


def _consent_attested_input() -> serializers.BooleanField:
    return _OptionalBooleanField(
        required=False,
        write_only=True,
        help_text=_(
            "true: you attest that the subject gave informed consent for the research use of "
            "the case's images (the bank records who and when, never the consent form); false: "
            "withdraws your attestation (a site agreement's coverage stays). Not sent: left as "
            "it is. Consent is not required to submit: the reviewers' checklist decides."
        ),
    )


class _RejectUnknownFieldsMixin:
    """Refuse keys the serializer does not know, so that a client sending e.g. `state` learns
    that it was not applied instead of getting a silent 200."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The browsable API's HTML forms also send their CSRF token.
        sent = set(getattr(self, "initial_data", {}) or {}) - {"csrfmiddlewaretoken"}
        unknown = sorted(sent - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {field: [_("Unknown or read-only field.")] for field in unknown}
            )
        return super().validate(attrs)


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "slug", "name", "country", "clinical_setting", "devices"]
        read_only_fields = fields

    devices = serializers.ListField(child=serializers.CharField(), read_only=True)


class CaseSerializer(_ClinicalFieldsMixin):
    """A case as the API shows it."""

    site = serializers.PrimaryKeyRelatedField(read_only=True)
    subject = serializers.SerializerMethodField(
        help_text=_(
            "The subject's code: 8 random characters, unique within the site, that link the "
            "site's cases of one patient; unrelated to the patient's ID or its pseudonym."
        )
    )
    state = serializers.ChoiceField(choices=CaseState.choices, read_only=True)
    consent_basis = serializers.ChoiceField(
        choices=CONSENT_BASIS.choices,
        allow_blank=True,
        read_only=True,
        help_text=_(
            "The basis of the research consent: attested (by the contributor), site_agreement "
            '(a retrospective import covered by the site\'s data-sharing agreement), or "" '
            "(not recorded: the reviewers decide)."
        ),
    )
    consent_attested = serializers.BooleanField(
        read_only=True,
        help_text=_("Whether the contributor attested the subject's informed consent."),
    )
    consent_attested_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=_("When the contributor attested it; null without an attestation."),
    )
    image_count = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "site",
            "subject",
            "state",
            "created_at",
            "updated_at",
            "submitted_at",
            "source_reference",
            *CLINICAL_FIELDS,
            "image_count",
            "images",
            "consent_basis",
            "consent_attested",
            "consent_attested_at",
        ]
        read_only_fields = fields

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # A coded field not given is "" (the model's blank), and the schema must say so: DRF
        # drops allow_blank from read-only fields, so the enum would allow only the codes.
        for name, field in fields.items():
            if isinstance(field, serializers.ChoiceField) and name in CODED_FIELDS:
                field.allow_blank = Case._meta.get_field(name).blank
        return fields

    def get_subject(self, case: Case) -> str:
        return case.subject.display_code

    def get_image_count(self, case: Case) -> int:
        # Annotated by selectors.case_list; counted here for a case fresh from a service.
        count = getattr(case, "image_count", None)
        return case.images.count() if count is None else count

    @extend_schema_field(serializers.URLField())
    def get_images(self, case: Case) -> str:
        return _absolute(self.context, reverse("api:case-images", args=[case.pk]))


class CaseCreateSerializer(_RejectUnknownFieldsMixin, _ClinicalFieldsMixin):
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.none())
    local_patient_id = serializers.CharField(
        write_only=True,
        max_length=100,
        help_text=_(
            "The site's own patient ID. Turned into a keyed-hash pseudonym at once; "
            "never stored and never returned."
        ),
    )

    source_reference = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=SOURCE_REFERENCE_MAX_LENGTH,
        help_text=_(
            "Your own reference for the case (e.g. “Case 002” of an export); never the patient's "
            "ID: one containing local_patient_id is refused."
        ),
    )
    consent_attested = _consent_attested_input()

    class Meta:
        model = Case
        fields = [
            "site",
            "local_patient_id",
            "source_reference",
            *CLINICAL_FIELDS,
            "consent_attested",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Only sites the user can see: another site's id reads as "does not exist".
            self.fields["site"].queryset = sites_for_user(request.user)


class CaseUpdateSerializer(_RejectUnknownFieldsMixin, _ClinicalFieldsMixin):
    reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text=_("Why the metadata changed; kept in the case's audit trail."),
    )
    source_reference = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=SOURCE_REFERENCE_MAX_LENGTH,
        help_text=_(
            "Your own reference for the case; never the patient's ID (a reference that is the "
            "patient's ID, or has a word that is, is refused)."
        ),
    )

    consent_attested = _consent_attested_input()

    class Meta:
        model = Case
        fields = [*CLINICAL_FIELDS, "source_reference", "reason", "consent_attested"]


class ImageSerializer(serializers.ModelSerializer):
    case = serializers.PrimaryKeyRelatedField(read_only=True)
    step = serializers.ChoiceField(choices=vocab.EXAMINATION_STEP.choices, read_only=True)
    source_format = serializers.ChoiceField(choices=vocab.SOURCE_FORMAT.choices, read_only=True)
    processing_status = serializers.ChoiceField(choices=ProcessingStatus.choices, read_only=True)
    original_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    original_filename = serializers.SerializerMethodField(
        help_text=_(
            "The name the file was sent under, as the bank keeps it (a name that could identify "
            "someone is kept as a keyed hash); only for the case's site contributors and "
            "curators, null for everyone else."
        )
    )

    class Meta:
        model = Image
        fields = [
            "id",
            "case",
            "step",
            "step_is_guess",
            "step_original_wording",
            "display_order",
            "source_format",
            "capture_device",
            "content_type",
            "byte_size",
            "width",
            "height",
            "sha256",
            "processing_status",
            "processing_error",
            "created_at",
            "original_url",
            "preview_url",
            "thumbnail_url",
            "original_filename",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_original_filename(self, image: Image) -> str | None:
        # Decided once per site for a list of images (permissions.can_see_file_names).
        request = self.context.get("request")
        if request is None:
            return None
        allowed = self.context.setdefault("_file_names_by_site", {})
        if image.case.site_id not in allowed:
            allowed[image.case.site_id] = can_see_file_names(request.user, image.case)
        return image.original_filename if allowed[image.case.site_id] else None

    @extend_schema_field(serializers.URLField())
    def get_original_url(self, image: Image) -> str:
        return self._file_url(image, "original")

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_preview_url(self, image: Image) -> str | None:
        return self._file_url(image, "preview") if image.preview else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, image: Image) -> str | None:
        return self._file_url(image, "thumbnail") if image.thumbnail else None

    def _file_url(self, image: Image, variant: str) -> str:
        return _absolute(self.context, reverse("imagebank:image-file", args=[image.pk, variant]))


class ImageUploadSerializer(_RejectUnknownFieldsMixin, serializers.Serializer):
    # Empty files are let through: the service refuses them with a message naming the file.
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    step = serializers.ChoiceField(choices=vocab.EXAMINATION_STEP.choices)
    display_order = serializers.IntegerField(min_value=1, max_value=32767, required=False)
    step_original_wording = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    capture_device = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    step_is_guess = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("True when the step was guessed (e.g. from the file order), not known."),
    )


class ImagePlacementSerializer(_RejectUnknownFieldsMixin, serializers.Serializer):
    """PATCH of an image: its step (which confirms it) and its position in the case."""

    step = serializers.ChoiceField(
        choices=vocab.EXAMINATION_STEP.choices,
        required=False,
        help_text=_("The examination step; giving it confirms it (step_is_guess becomes false)."),
    )
    display_order = serializers.IntegerField(
        min_value=1,
        max_value=32767,
        required=False,
        help_text=_(
            "The image's position, 1 to the number of images: it moves there and the others "
            "close up, numbered 1 to n."
        ),
    )


def _absolute(context: dict[str, Any], path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path
