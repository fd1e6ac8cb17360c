from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from imagebank import vocabularies as vocab

from .cases import Case
from .constraints import choice_constraint


class ProcessingStatus(models.TextChoices):
    """Where the background derivation of an image stands; kept apart from the case lifecycle."""

    PENDING = "pending", _("Waiting for processing")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Processing failed")


class ImageQuerySet(models.QuerySet):
    def received_in_site(self, site, sha256s) -> "ImageQuerySet":
        """The site's images whose file as received had one of these SHA-256 hashes ("already in
        the bank?"). Written as a sub-query on the site's cases, not a join, so that SQLite too
        looks the hashes up in their index instead of reading every image of the site."""
        return self.filter(
            original_sha256__in=list(sha256s),
            case_id__in=Case.objects.filter(site=site).values("pk"),
        ).order_by()


class Image(models.Model):
    """One photograph of an examination, stored under its SHA-256 in private storage."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="images")
    step = models.CharField(
        _("examination step"), max_length=40, choices=vocab.EXAMINATION_STEP.choices
    )
    step_original_wording = models.CharField(
        _("step as written by the source"), max_length=200, blank=True
    )
    step_is_guess = models.BooleanField(
        _("step guessed"),
        default=False,
        help_text=_("The step was guessed (from the file order), not given by the contributor."),
    )
    display_order = models.PositiveSmallIntegerField(_("display order"))
    source_format = models.CharField(
        _("source format"), max_length=10, choices=vocab.SOURCE_FORMAT.choices
    )
    original_filename = models.CharField(
        _("original file name"),
        max_length=255,
        blank=True,
        help_text=_("Base name only, kept to match reports to files."),
    )
    capture_device = models.CharField(_("capture device"), max_length=200, blank=True)
    burned_in_annotation = models.BooleanField(
        _("burned-in annotation"),
        default=False,
        help_text=_("The source declared text burned into the pixels: the reviewer must check it."),
    )

    file = models.FileField(_("file"), max_length=200)
    content_type = models.CharField(max_length=50)
    byte_size = models.PositiveBigIntegerField()
    sha256 = models.CharField(_("SHA-256 of the stored file"), max_length=64, db_index=True)
    original_sha256 = models.CharField(
        _("SHA-256 of the file as received"),
        max_length=64,
        blank=True,
        # Imports look every case's files up by it ("already in the bank?"): without an index
        # each look-up reads every image of the site (40 ms a case at 50,000 images).
        db_index=True,
        help_text=_("Only the hash of the original is kept, never the original itself."),
    )

    # Filled in by the background task.
    processing_status = models.CharField(
        max_length=10, choices=ProcessingStatus.choices, default=ProcessingStatus.PENDING
    )
    processing_error = models.CharField(max_length=500, blank=True)
    # The durable intent (docs/deployment.md, "The reconciler"): while the image is pending, when
    # its task was last sent (None: to be sent, e.g. the broker was down) and how many times.
    processing_queued_at = models.DateTimeField(null=True, blank=True, db_index=True)
    processing_attempts = models.PositiveSmallIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    preview = models.FileField(max_length=200, blank=True)
    thumbnail = models.FileField(max_length=200, blank=True)

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="uploaded_images"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["case", "display_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "sha256"], name="image_unique_content_per_case"
            ),
            models.UniqueConstraint(
                fields=["case", "display_order"], name="image_unique_order_per_case"
            ),
            models.CheckConstraint(condition=Q(display_order__gte=1), name="image_order_from_one"),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="image_sha256_hex"
            ),
            models.CheckConstraint(
                condition=~Q(processing_status=ProcessingStatus.DONE)
                | Q(width__isnull=False, height__isnull=False, width__gt=0, height__gt=0),
                name="image_done_has_dimensions",
            ),
            models.CheckConstraint(
                condition=Q(processing_status__in=ProcessingStatus.values),
                name="image_processing_status_valid",
            ),
            choice_constraint("step", vocab.EXAMINATION_STEP, allow_blank=False),
            choice_constraint("source_format", vocab.SOURCE_FORMAT, allow_blank=False),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}/{self.display_order} {self.get_step_display()}"
