"""The expert review: the queue of cases waiting for reviews, each reviewer's claim and review,
their per-image flags and outlines, the eligibility checklist, adjudication and notices.

One QueueEntry per case and review round (a returned case that is resubmitted enters a new
round). A Review is one reviewer's claim on an entry and, once decided, their independent review.
The database itself keeps the rules that concurrency could break: at most one live claim per
entry (no case held by two reviewers at once) and at most one live or decided review per entry
and reviewer (never two reviews by the same person).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from imagebank.lifecycle import CaseState


class EntryStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for reviews")
    ADJUDICATION = "adjudication", _("Waiting for adjudication")
    DECIDED = "decided", _("Decided")
    WITHDRAWN = "withdrawn", _("Withdrawn")  # the case left review another way


class QueueEntry(models.Model):
    """A case waiting for (or having had) its independent reviews in one round."""

    case = models.ForeignKey(
        "imagebank.Case", on_delete=models.CASCADE, related_name="queue_entries"
    )
    round = models.PositiveIntegerField(default=1)
    entered_at = models.DateTimeField(_("entered the queue"), db_index=True)
    urgent = models.BooleanField(_("urgent"), default=False)
    urgent_reason = models.CharField(_("why urgent"), max_length=200, blank=True)
    reviews_required = models.PositiveSmallIntegerField(_("reviews required"), default=2)
    # Submitted reviews so far (kept by the services, so the hand-out needs no count per row).
    reviews_done = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=EntryStatus.choices, default=EntryStatus.WAITING
    )
    # What the required reviews disagreed on (decision, labels), for the adjudication list.
    disagreement = models.JSONField(default=dict, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=20,
        blank=True,
        choices=[
            (CaseState.ACCEPTED, CaseState.ACCEPTED.label),
            (CaseState.REJECTED, CaseState.REJECTED.label),
            (CaseState.RETURNED, CaseState.RETURNED.label),
        ],
    )

    class Meta:
        ordering = ["-urgent", "entered_at", "pk"]
        verbose_name_plural = _("queue entries")
        constraints = [
            models.UniqueConstraint(fields=["case", "round"], name="queueentry_one_per_round"),
            models.CheckConstraint(
                condition=Q(status__in=EntryStatus.values), name="queueentry_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "-urgent", "entered_at", "id"], name="queueentry_handout"
            )
        ]

    def __str__(self) -> str:
        return f"case {self.case_id} round {self.round} ({self.status})"


class ReviewStatus(models.TextChoices):
    CLAIMED = "claimed", _("Claimed")
    RELEASED = "released", _("Released")
    EXPIRED = "expired", _("Claim expired")
    SUBMITTED = "submitted", _("Submitted")


class Decision(models.TextChoices):
    ACCEPT = "accept", _("Accept")
    REJECT = "reject", _("Reject")
    RETURN = "return", _("Return to the contributor")


class RejectReason(models.TextChoices):
    """Why a case is rejected or returned (a review's `reasons`)."""

    INELIGIBLE = "ineligible", _("Does not meet the eligibility criteria")
    POOR_QUALITY = "poor_quality", _("Image quality too poor")
    INCOMPLETE_SEQUENCE = "incomplete_sequence", _("Examination sequence incomplete")
    DUPLICATE = "duplicate", _("Duplicate of images already in the bank")
    IDENTIFIABLE = "identifiable", _("Identifiable features or burned-in text")
    METADATA = "metadata", _("Clinical metadata missing or inconsistent")
    NO_CONSENT = "no_consent", _("No research consent or data-sharing agreement")
    OTHER = "other", _("Other (see the message)")


LIVE_REVIEW = Q(status__in=[ReviewStatus.CLAIMED, ReviewStatus.SUBMITTED])


class Review(models.Model):
    """One reviewer's claim on a queue entry and, once submitted, their independent review."""

    entry = models.ForeignKey(QueueEntry, on_delete=models.CASCADE, related_name="reviews")
    case = models.ForeignKey("imagebank.Case", on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.CLAIMED
    )
    claimed_at = models.DateTimeField()
    claim_expires = models.DateTimeField(db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    reasons = models.JSONField(default=list, blank=True)  # RejectReason codes
    message = models.TextField(_("message to the contributor"), blank=True)
    # The checklist's answers: {item code: true | false}.
    eligibility = models.JSONField(default=dict, blank=True)
    # The reviewer's opinion of clinical labels ({field: value}); the case keeps the contributor's.
    label_opinions = models.JSONField(default=dict, blank=True)
    # Images the reviewer would keep out of the bank while keeping the case (image ids).
    excluded_images = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["claimed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry"],
                condition=Q(status=ReviewStatus.CLAIMED),
                name="review_one_claim_per_entry",
            ),
            models.UniqueConstraint(
                fields=["entry", "reviewer"],
                condition=LIVE_REVIEW,
                name="review_one_per_reviewer_entry",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReviewStatus.values), name="review_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=ReviewStatus.SUBMITTED) | ~Q(decision=""),
                name="review_submitted_has_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"review {self.pk} of case {self.case_id} by {self.reviewer_id} ({self.status})"


class FlagReason(models.TextChoices):
    BLOOD = "blood", _("Blood obscuring the view")
    TZ_NOT_VISIBLE = "tz_not_visible", _("Transformation zone not fully visible")
    OUT_OF_FOCUS = "out_of_focus", _("Out of focus")
    CERVIX_NOT_VISIBLE = "cervix_not_visible", _("Cervix not fully visible")
    GLARE = "glare", _("Glare")
    MUCUS = "mucus", _("Mucus or discharge")
    OBSTRUCTION = "obstruction", _("Speculum or vaginal walls obstructing")
    WRONG_STEP = "wrong_step", _("Wrong step label")
    IDENTIFIABLE = "identifiable", _("Identifiable features or burned-in text")


class ImageFlag(models.Model):
    """A reviewer's flag on one image, with its reason code (and, for a wrong step label, the
    right step)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="flags")
    image = models.ForeignKey("imagebank.Image", on_delete=models.CASCADE, related_name="flags")
    reason = models.CharField(max_length=30, choices=FlagReason.choices)
    correct_step = models.CharField(_("right step"), max_length=40, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["image", "reason"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "image", "reason"], name="imageflag_one_per_reason"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=FlagReason.values), name="imageflag_reason_valid"
            ),
            models.CheckConstraint(
                condition=Q(reason="wrong_step") | Q(correct_step=""),
                name="imageflag_step_only_for_wrong_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} on image {self.image_id}"


class OutlineKind(models.TextChoices):
    LESION = "lesion", _("Lesion")
    CERVIX = "cervix", _("Cervix")
    SCJ = "scj", _("Squamocolumnar junction")


class Outline(models.Model):
    """A polygon drawn by a reviewer on an image, in the image's own pixel coordinates (the
    full-resolution, upright image): `points` is [[x, y], …], at least three. Rasterised to a
    mask on demand (curation.outlines)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="outlines")
    image = models.ForeignKey("imagebank.Image", on_delete=models.CASCADE, related_name="outlines")
    kind = models.CharField(max_length=10, choices=OutlineKind.choices)
    points = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["image", "kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=OutlineKind.values), name="outline_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} outline on image {self.image_id}"


class Prefill(models.TextChoices):
    """Where an eligibility item's pre-filled answer comes from (the reviewer answers anyway)."""

    NONE = "", _("Nothing: the reviewer answers")
    CONSENT = "consent", _("The contributor's consent attestation or the site's agreement")
    SEQUENCE = "sequence", _("The sequence_complete check")
    IMAGE_QUALITY = "image_quality", _("The image checks of the core steps")
    FRAMING = "framing", _("The framing check")
    HISTOLOGY = "histology", _("Histopathology given, or a reason for its absence")


class EligibilityItem(models.Model):
    """One item of the bank's eligibility checklist, configured by curators."""

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(_("item"), max_length=200)
    help_text = models.CharField(_("explanation"), max_length=500, blank=True)
    required = models.BooleanField(_("required for acceptance"), default=True)
    prefill = models.CharField(max_length=20, choices=Prefill.choices, blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.code


class Adjudication(models.Model):
    """A curator's final decision on an entry whose reviews disagreed."""

    entry = models.OneToOneField(QueueEntry, on_delete=models.CASCADE, related_name="adjudication")
    curator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reasons = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    label_values = models.JSONField(default=dict, blank=True)  # the labels the curator settled
    excluded_images = models.JSONField(default=list, blank=True)
    decided_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"adjudication of {self.entry}: {self.decision}"


class ImageExclusion(models.Model):
    """An image kept out of the bank (and of every release) while its case is kept, as the
    consensus or the adjudication decided."""

    image = models.OneToOneField(
        "imagebank.Image", on_delete=models.CASCADE, related_name="exclusion"
    )
    entry = models.ForeignKey(QueueEntry, on_delete=models.CASCADE, related_name="exclusions")
    reasons = models.JSONField(default=list, blank=True)  # FlagReason codes
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"image {self.image_id} excluded"


class Notice(models.Model):
    """A notice on a user's dashboard (also sent by mail): a case returned, accepted or rejected,
    an adjudication waiting."""

    class Kind(models.TextChoices):
        RETURNED = "returned", _("Case returned")
        ACCEPTED = "accepted", _("Case accepted")
        REJECTED = "rejected", _("Case rejected")
        ADJUDICATION = "adjudication", _("Adjudication waiting")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    case = models.ForeignKey("imagebank.Case", on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The mail is the durable intent of the row: sent by a task after the commit, and by the
    # reconciler again while it is not marked sent (curation.services.notices).
    mailed_at = models.DateTimeField(null=True, blank=True)
    mail_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notice_unread"),
            models.Index(
                fields=["created_at"],
                condition=models.Q(mailed_at__isnull=True),
                name="notice_unmailed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} notice for {self.user_id}"
