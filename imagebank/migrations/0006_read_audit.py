# The audit of reads: who viewed which case, image or report, when and from where.
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("imagebank", "0005_subject_display_code")]

    operations = [
        migrations.CreateModel(
            name="ReadEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "at",
                    models.DateTimeField(
                        db_index=True,
                        default=django.utils.timezone.now,
                        editable=False,
                        verbose_name="when",
                    ),
                ),
                (
                    "user_email",
                    models.EmailField(max_length=254, verbose_name="user's email at the time"),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("case", "Case"),
                            ("case_images", "Case's image list"),
                            ("image", "Image record"),
                            ("image_file", "Image file"),
                            ("import_run", "Import"),
                            ("import_report", "Import report"),
                            ("case_reads", "Case's read log"),
                            ("read_export", "Read log export"),
                        ],
                        max_length=30,
                        verbose_name="what",
                    ),
                ),
                (
                    "variant",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("original", "Original"),
                            ("preview", "Preview"),
                            ("thumbnail", "Thumbnail"),
                        ],
                        max_length=10,
                        verbose_name="file variant",
                    ),
                ),
                (
                    "object_id",
                    models.PositiveBigIntegerField(blank=True, null=True, verbose_name="object id"),
                ),
                (
                    "channel",
                    models.CharField(
                        choices=[("page", "Web page"), ("api", "API"), ("file", "File")],
                        max_length=10,
                        verbose_name="how",
                    ),
                ),
                ("route", models.CharField(max_length=100, verbose_name="address name")),
                (
                    "client_ip",
                    models.GenericIPAddressField(
                        blank=True, null=True, verbose_name="from address"
                    ),
                ),
                (
                    "user_agent",
                    models.CharField(blank=True, max_length=255, verbose_name="browser or client"),
                ),
                (
                    "case",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="imagebank.case",
                        verbose_name="case",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "read",
                "verbose_name_plural": "reads",
                "ordering": ["-at", "-pk"],
                "indexes": [models.Index(fields=["case", "-at"], name="readevent_case_at")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("channel__in", ["page", "api", "file"])),
                        name="readevent_channel_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("variant__in", ["", "original", "preview", "thumbnail"])
                        ),
                        name="readevent_variant_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("kind", "image_file"), _negated=True),
                            models.Q(("variant", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="readevent_image_file_has_variant",
                    ),
                ],
            },
        ),
    ]
