"""The audit of reads: who viewed which case, image or report, when and from where.

One row per recorded read, written by imagebank.read_audit.ReadAuditMiddleware (docs/audit.md
says which reads are recorded), append-only: nothing in the bank updates or deletes a row, and the
admin shows them read-only.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .cases import Case

USER_AGENT_MAX_LENGTH = 255


class ReadEvent(models.Model):
    class Kind(models.TextChoices):
        CASE = "case", _("Case")
        CASE_IMAGES = "case_images", _("Case's image list")
        IMAGE = "image", _("Image record")
        IMAGE_FILE = "image_file", _("Image file")
        IMPORT_RUN = "import_run", _("Import")
        IMPORT_REPORT = "import_report", _("Import report")
        CASE_READS = "case_reads", _("Case's read log")
        READ_EXPORT = "read_export", _("Read log export")

    class Channel(models.TextChoices):
        PAGE = "page", _("Web page")
        API = "api", _("API")
        FILE = "file", _("File")

    class Variant(models.TextChoices):
        ORIGINAL = "original", _("Original")
        PREVIEW = "preview", _("Preview")
        THUMBNAIL = "thumbnail", _("Thumbnail")

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True, editable=False)
    # The account may be deleted later; the email it had at the time of the read stays.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    user_email = models.EmailField(_("user's email at the time"), max_length=254)
    # Not a choice constraint: the apps above the core register reads of their own kinds
    # (imagebank.read_audit.register_audited_read).
    kind = models.CharField(_("what"), max_length=30, choices=Kind.choices)
    variant = models.CharField(
        _("file variant"), max_length=10, choices=Variant.choices, blank=True
    )
    object_id = models.PositiveBigIntegerField(_("object id"), null=True, blank=True)
    # No database constraint and nothing done on delete: the record that someone read a case
    # outlives the case (a case withdrawn from the bank keeps the log of who saw it).
    case = models.ForeignKey(
        Case,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (case, at) index below serves every look-up by case
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("case"),
    )
    channel = models.CharField(_("how"), max_length=10, choices=Channel.choices)
    route = models.CharField(_("address name"), max_length=100)
    client_ip = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    user_agent = models.CharField(
        _("browser or client"), max_length=USER_AGENT_MAX_LENGTH, blank=True
    )

    class Meta:
        verbose_name = _("read")
        verbose_name_plural = _("reads")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["case", "-at"], name="readevent_case_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=["page", "api", "file"]), name="readevent_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(variant__in=["", "original", "preview", "thumbnail"]),
                name="readevent_variant_valid",
            ),
            models.CheckConstraint(
                condition=~Q(kind="image_file") | ~Q(variant=""),
                name="readevent_image_file_has_variant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_email} {self.kind} {self.object_id} {self.at:%Y-%m-%d %H:%M}"
