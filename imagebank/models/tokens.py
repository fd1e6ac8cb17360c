"""API tokens with a life cycle, and the audit trail of what happened to each.

A token is named (a user may hold several), shown once, and stored only as the SHA-256 of its
raw key: the public `key_id` finds the row, the hash proves the rest. Every token expires, and is
revoked by its owner, or by the bank when the owner's password changes or the account is
deactivated. `second_factor` records whether the token was issued after a second factor (TOTP,
recovery code or a two-factor session): a token of a user whose role needs two-factor
authentication works only with it. The rules live in imagebank.services.tokens.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiTokenQuerySet(models.QuerySet):
    def active(self, now=None) -> "ApiTokenQuerySet":
        """Neither revoked nor expired (what the owner can still use)."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class ApiToken(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=100)
    key_id = models.CharField(
        _("key prefix"),
        max_length=16,
        unique=True,
        help_text=_("The public part of the key, used to find the token; not a secret."),
    )
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    # SHA-256 of the owner's password hash when the token was issued: a token issued before the
    # password last changed no longer matches, even if the change bypassed every signal.
    password_fingerprint = models.CharField(max_length=64, editable=False)
    second_factor = models.BooleanField(
        _("issued after a second factor"),
        default=False,
        help_text=_("Whether the owner gave a second factor (a code or a two-factor session)."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_from = models.GenericIPAddressField(_("created from"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_used_from = models.GenericIPAddressField(_("last used from"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revoked_reason = models.CharField(_("reason for revoking"), max_length=200, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["owner", "revoked_at"], name="apitoken_owner_revoked")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""),
                name="apitoken_revoked_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    @property
    def prefix(self) -> str:
        """What the owner sees of the key: its start, enough to recognise it."""
        return f"ib_{self.key_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return not self.is_revoked and not self.is_expired


class ApiTokenEvent(models.Model):
    """One thing that happened to a token. Uses are recorded at most once per token, client
    address and API_TOKEN_USE_AUDIT_MINUTES; the token's last_used_at is always kept."""

    class Kind(models.TextChoices):
        ISSUED = "issued", _("issued")
        USED = "used", _("used")
        REVOKED = "revoked", _("revoked")
        REFUSED = "refused", _("refused")

    token = models.ForeignKey(
        ApiToken, on_delete=models.CASCADE, related_name="events", verbose_name=_("token")
    )
    kind = models.CharField(_("event"), max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("API token event")
        verbose_name_plural = _("API token events")
        indexes = [models.Index(fields=["token", "at"], name="apitokenevent_token_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.token_id} {self.at:%Y-%m-%d %H:%M}"
