"""Data use agreements: versioned texts, and signatures that record exactly what was signed."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DataUseAgreement(models.Model):
    """One version of the agreement. The text never changes once any signature refers to it: a
    change is a new version, and a new version must be signed again before the next download."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"))
    sha256 = models.CharField(max_length=64)  # of `text`, UTF-8
    in_force_from = models.DateTimeField(_("in force from"))
    created_at = models.DateTimeField(auto_now_add=True)
    # Who published the version (publish_agreement); empty for version 1, which the first
    # migration adds.
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class AgreementSignature(models.Model):
    """A user's signature of one agreement version, for one research group: who, their typed
    name, when, and the SHA-256 of the text they saw."""

    agreement = models.ForeignKey(
        DataUseAgreement, on_delete=models.PROTECT, related_name="signatures"
    )
    group = models.ForeignKey(
        "access_requests.ResearchGroup", on_delete=models.CASCADE, related_name="signatures"
    )
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agreement_signatures"
    )
    typed_name = models.CharField(_("typed name"), max_length=200)
    text_sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "group", "signer"], name="signature_once_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.typed_name} signed v{self.agreement_id}"
