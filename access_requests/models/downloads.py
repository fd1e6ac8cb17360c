"""The download log: every byte that leaves, accounted for."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DownloadKind(models.TextChoices):
    ARCHIVE = "archive", _("whole release (ZIP)")
    FILE = "file", _("single file")
    MANIFEST = "manifest", _("manifest")
    SIGNED_URL = "signed_url", _("signed URL issued")


class DownloadLog(models.Model):
    """One download, or one signed URL issued: who (user, their group, the grant), what (the
    release version, the whole archive or which file), how much (bytes, and the byte range
    asked for), when, and from where (address, user agent). Rows are written before the bytes
    go; nothing updates or deletes them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="downloads"
    )
    group = models.ForeignKey(
        "access_requests.ResearchGroup", on_delete=models.PROTECT, related_name="downloads"
    )
    grant = models.ForeignKey(
        "access_requests.Grant", on_delete=models.PROTECT, related_name="downloads"
    )
    version = models.ForeignKey(
        "curation.ReleaseVersion", on_delete=models.PROTECT, related_name="downloads"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=DownloadKind.choices)
    path = models.CharField(_("file"), max_length=300, blank=True)  # empty for the archive
    bytes = models.PositiveBigIntegerField(_("bytes"), default=0)
    range_start = models.PositiveBigIntegerField(null=True, blank=True)
    range_end = models.PositiveBigIntegerField(null=True, blank=True)
    api_token = models.ForeignKey(
        "imagebank.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["grant", "at"], name="downloadlog_grant")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.version_id}"
