from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Verdict(models.TextChoices):
    """What a check concluded; ERROR: the check itself crashed on this image (a reviewer looks)."""

    PASS = "pass", _("Pass")
    WARN = "warn", _("Warning")
    FAIL = "fail", _("Fail")
    ERROR = "error", _("Check failed to run")


class CheckResult(models.Model):
    """One automated check's result on one image (or, with no image, on the whole case), for one
    version of the check. Running the same version again replaces the row, never adds one."""

    case = models.ForeignKey(
        "imagebank.Case", on_delete=models.CASCADE, related_name="check_results"
    )
    image = models.ForeignKey(
        "imagebank.Image",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="check_results",
    )
    check_name = models.CharField(_("check"), max_length=40)
    version = models.CharField(_("version"), max_length=20)
    value = models.FloatField(_("measured value"), null=True, blank=True)
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    # Every threshold the check used (its warn and fail limits…), as resolved for the image's site
    # and capture device when it ran.
    thresholds = models.JSONField(_("thresholds in force"), default=dict, blank=True)
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices)
    detail = models.CharField(_("explanation"), max_length=500, blank=True)
    # A PNG mask over the image's preview (blood, glare), in private storage; empty when none.
    overlay = models.FileField(_("overlay"), max_length=200, blank=True)
    # What the check found beyond its value: the matching images of `duplicate`, the step
    # `step_consistency` saw, …
    extra = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case", "image", "check_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "check_name", "version"],
                condition=Q(image__isnull=False),
                name="checkresult_one_per_image_check_version",
            ),
            models.UniqueConstraint(
                fields=["case", "check_name", "version"],
                condition=Q(image__isnull=True),
                name="checkresult_one_per_case_check_version",
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=["pass", "warn", "fail", "error"]),
                name="checkresult_verdict_valid",
            ),
        ]
        indexes = [models.Index(fields=["check_name", "verdict"])]

    def __str__(self) -> str:
        return (
            f"{self.check_name} {self.version} on {self.image_id or self.case_id}: {self.verdict}"
        )


class CheckThreshold(models.Model):
    """A curator's value for one threshold of one check, for every site (no site), one site, or
    one capture device (at one site or everywhere). The most specific one in force wins: site and
    device, then site, then device, then every site, then the default in curation.checks.defaults.
    """

    check_name = models.CharField(_("check"), max_length=40)
    parameter = models.CharField(_("threshold"), max_length=40)
    site = models.ForeignKey(
        "imagebank.Site",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="check_thresholds",
    )
    capture_device = models.CharField(_("capture device"), max_length=200, blank=True)
    value = models.FloatField(_("value"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["check_name", "parameter", "site", "capture_device"]
        constraints = [
            # Two constraints, since NULL sites are distinct in a plain unique constraint.
            models.UniqueConstraint(
                fields=["check_name", "parameter", "site", "capture_device"],
                condition=Q(site__isnull=False),
                name="checkthreshold_one_per_site_scope",
            ),
            models.UniqueConstraint(
                fields=["check_name", "parameter", "capture_device"],
                condition=Q(site__isnull=True),
                name="checkthreshold_one_per_bank_scope",
            ),
        ]

    def __str__(self) -> str:
        scope = " / ".join(filter(None, [getattr(self.site, "slug", ""), self.capture_device]))
        return f"{self.check_name}.{self.parameter} = {self.value} ({scope or 'all sites'})"
