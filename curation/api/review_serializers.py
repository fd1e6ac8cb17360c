"""Serializers of the review API (curation.api.reviews): shapes and first validation only; the
rules (reason codes, checklist items, images of the case, claims) are the services' and their
errors name the field too."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from curation.models import Decision, FlagReason, ImageFlag, Outline
from curation.services.review_common import (
    MAX_EXCLUDED_IMAGES,
    MAX_ID,
    MAX_OUTLINE_POINTS,
    MAX_REASONS,
    MESSAGE_MAX_LENGTH,
    NOTE_MAX_LENGTH,
)
from imagebank.api.base import RefuseUnknownFields
from imagebank.api.serializers import CaseSerializer, ImageSerializer


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class NextRequestSerializer(RefuseUnknownFields, serializers.Serializer):
    """`POST /api/reviews/next/` takes no body, or an empty object: any key is a 400 naming it."""


class ClaimSerializer(serializers.Serializer):
    """The case handed out (or the reviewer's claim still held)."""

    review = _id_field(help_text=_("The review (your claim): the id of the other operations."))
    case = _id_field(help_text=_("The case to review."))
    claim_expires = serializers.DateTimeField(
        help_text=_("When the claim ends if the review is not submitted (ISO 8601).")
    )


# Plain strings for `status` and `kind` (their codes in the help text): as enums drf-spectacular
# would name them StatusEnum and KindEnum, names other components' fields already use.
STATUS_HELP = _("claimed, released, expired or submitted.")
KIND_HELP = _("lesion, cervix or scj (the squamocolumnar junction).")


class ReleasedSerializer(serializers.Serializer):
    review = _id_field()
    status = serializers.CharField(help_text=STATUS_HELP)


class DecisionSerializer(RefuseUnknownFields, serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=Decision.choices,
        help_text=_("accept, reject, or return to the contributor."),
    )
    reasons = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        max_length=MAX_REASONS,
        help_text=_(
            "Reason codes (ineligible, poor_quality, incomplete_sequence, duplicate, "
            "identifiable, metadata, no_consent, other): required to reject or return, none to "
            "accept."
        ),
    )
    message = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MESSAGE_MAX_LENGTH,
        help_text=_("To the contributor: required to return the case; a note when rejecting."),
    )
    eligibility = serializers.DictField(
        required=False,
        help_text=_(
            "The checklist's answers, {item code: true | false}, codes of the active items "
            "(GET the review for them). Accepting needs every required item answered true."
        ),
    )
    label_opinions = serializers.DictField(
        required=False,
        help_text=_(
            "Your values of clinical labels where you disagree with the contributor's "
            "(transformation_zone, scj_visibility, provisional_diagnosis, the Swede components "
            "and swede_total), as vocabulary codes; the case keeps the contributor's."
        ),
    )
    excluded_images = serializers.ListField(
        child=_id_field(),
        required=False,
        max_length=MAX_EXCLUDED_IMAGES,
        help_text=_("Images of the case to keep out of the bank while accepting the case."),
    )


class FlagSerializer(serializers.ModelSerializer):
    image = serializers.PrimaryKeyRelatedField(read_only=True)
    reason = serializers.ChoiceField(choices=FlagReason.choices, read_only=True)

    class Meta:
        model = ImageFlag
        fields = ["id", "image", "reason", "correct_step", "note", "created_at"]
        read_only_fields = fields


class FlagCreateSerializer(RefuseUnknownFields, serializers.Serializer):
    image = _id_field(help_text=_("An image of the case."))
    reason = serializers.ChoiceField(choices=FlagReason.choices)
    correct_step = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text=_("The right step code: required for wrong_step, and only for it."),
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH)


class OutlineSerializer(serializers.ModelSerializer):
    image = serializers.PrimaryKeyRelatedField(read_only=True)
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        read_only=True,
        help_text=_("[[x, y], …] in the image's own pixel coordinates."),
    )

    class Meta:
        model = Outline
        fields = ["id", "image", "kind", "points", "created_at"]
        read_only_fields = fields


class OutlineCreateSerializer(RefuseUnknownFields, serializers.Serializer):
    image = _id_field(help_text=_("An image of the case."))
    kind = serializers.CharField(max_length=10, help_text=KIND_HELP)
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        min_length=3,
        max_length=MAX_OUTLINE_POINTS,
        help_text=_(
            "The polygon, [[x, y], …], at least three points inside the image, in its own "
            "pixel coordinates (the full-resolution, upright image)."
        ),
    )


class ChecklistItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    help_text = serializers.CharField(allow_blank=True)
    required = serializers.BooleanField(help_text=_("Required for acceptance."))
    prefill = serializers.CharField(
        allow_blank=True, help_text=_("Where the pre-filled answer comes from (empty: nowhere).")
    )
    prefilled = serializers.BooleanField(
        allow_null=True,
        help_text=_("What the automated results suggest; null: nothing to go on. You answer."),
    )


class CheckSummarySerializer(serializers.Serializer):
    image = serializers.IntegerField(allow_null=True, help_text=_("null: a check of the case."))
    check = serializers.CharField()
    version = serializers.CharField()
    verdict = serializers.CharField(help_text=_("pass, warn, fail or error."))
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    detail = serializers.CharField(allow_blank=True)
    overlay_url = serializers.CharField(
        allow_null=True, help_text=_("The overlay (blood, glare) over the preview, if any.")
    )


class ReviewDetailSerializer(serializers.Serializer):
    """Your own review and what you review it from (never another reviewer's)."""

    review = _id_field()
    case = _id_field()
    round = serializers.IntegerField(help_text=_("1, then one more each time it is resubmitted."))
    urgent = serializers.BooleanField()
    status = serializers.CharField(help_text=STATUS_HELP)
    claimed_at = serializers.DateTimeField()
    claim_expires = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decision = serializers.CharField(allow_blank=True, help_text=_("Empty until submitted."))
    reasons = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField(allow_blank=True)
    eligibility = serializers.DictField(child=serializers.BooleanField())
    label_opinions = serializers.DictField()
    excluded_images = serializers.ListField(child=serializers.IntegerField())
    case_details = CaseSerializer(help_text=_("The case as the contributor gave it."))
    images = ImageSerializer(many=True, help_text=_("In step order (display_order)."))
    checks = CheckSummarySerializer(many=True, help_text=_("The latest automated results."))
    checklist = ChecklistItemSerializer(many=True)
    flags = FlagSerializer(many=True, help_text=_("Your flags."))
    outlines = OutlineSerializer(many=True, help_text=_("Your outlines."))
