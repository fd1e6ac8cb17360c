# API tokens with a life cycle (named, hashed, expiring, revocable) and their audit.
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("imagebank", "0003_coded_terminologies_references_steps_requirements")]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, verbose_name="name")),
                (
                    "key_id",
                    models.CharField(
                        help_text="The public part of the key, used to find the token; not a "
                        "secret.",
                        max_length=16,
                        unique=True,
                        verbose_name="key prefix",
                    ),
                ),
                (
                    "key_hash",
                    models.CharField(editable=False, max_length=64, verbose_name="key hash"),
                ),
                ("password_fingerprint", models.CharField(editable=False, max_length=64)),
                (
                    "second_factor",
                    models.BooleanField(
                        default=False,
                        help_text="Whether the owner gave a second factor (a code or a "
                        "two-factor session).",
                        verbose_name="issued after a second factor",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created"),
                ),
                (
                    "created_from",
                    models.GenericIPAddressField(
                        blank=True, null=True, verbose_name="created from"
                    ),
                ),
                ("expires_at", models.DateTimeField(verbose_name="expires")),
                (
                    "last_used_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="last used"),
                ),
                (
                    "last_used_from",
                    models.GenericIPAddressField(
                        blank=True, null=True, verbose_name="last used from"
                    ),
                ),
                (
                    "revoked_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="revoked"),
                ),
                (
                    "revoked_reason",
                    models.CharField(
                        blank=True, max_length=200, verbose_name="reason for revoking"
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                (
                    "revoked_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="revoked by",
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "verbose_name_plural": "API tokens",
                "ordering": ["-created_at", "-pk"],
                "indexes": [
                    models.Index(fields=["owner", "revoked_at"], name="apitoken_owner_revoked")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("expires_at__gt", models.F("created_at"))),
                        name="apitoken_expires_after_creation",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("revoked_at__isnull", True),
                            models.Q(("revoked_reason", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="apitoken_revoked_with_reason",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ApiTokenEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("issued", "issued"),
                            ("used", "used"),
                            ("revoked", "revoked"),
                            ("refused", "refused"),
                        ],
                        max_length=10,
                        verbose_name="event",
                    ),
                ),
                (
                    "at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="time"),
                ),
                (
                    "address",
                    models.GenericIPAddressField(
                        blank=True, null=True, verbose_name="client address"
                    ),
                ),
                ("detail", models.CharField(blank=True, max_length=200, verbose_name="detail")),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="actor",
                    ),
                ),
                (
                    "token",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="imagebank.apitoken",
                        verbose_name="token",
                    ),
                ),
            ],
            options={
                "verbose_name": "API token event",
                "verbose_name_plural": "API token events",
                "ordering": ["-at", "-pk"],
                "indexes": [models.Index(fields=["token", "at"], name="apitokenevent_token_at")],
            },
        ),
    ]
