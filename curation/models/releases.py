"""Versioned dataset releases: what a release is made of, frozen when it is built and read-only
once it is published.

A Release (a slug and a title) has versions. A ReleaseVersion carries its definition (the
selection, the label definitions, the split policy and seed), its state, and, once built, one
ReleaseImage per image (the manifest's rows), the test split's labels apart (SequesteredLabel),
its other files (ReleaseFile: manifest, Croissant metadata, datasheet, licence), its changelog
(ReleaseChange) and its audits (ReleaseAudit). Every file is a ReleaseBlob: stored once under its
SHA-256, never changed.

Published is final: the models refuse to save or delete anything of a published version, and the
database refuses it too (triggers on PostgreSQL and SQLite, migration 0006), so neither a bulk
update nor a hand-typed statement can change a release researchers have cited. A correction is a
new version.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from curation.releases.labels import RULE_CHOICES

SEMVER = re.compile(r"^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$")
SPLIT_CHOICES = [
    ("train", _("training")),
    ("validation", _("validation")),
    ("test", _("test")),
]


def parse_version(text: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a semantic version "MAJOR.MINOR.PATCH", or ValidationError."""
    found = SEMVER.match(text or "")
    if not found:
        raise ValidationError(
            {"version": _("Give a semantic version: three numbers, such as 1.0.0.")}
        )
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


class ReleaseState(models.TextChoices):
    DRAFT = "draft", _("draft")
    QUEUED = "queued", _("waiting to be built")
    BUILDING = "building", _("building")
    BUILT = "built", _("built")
    PUBLISHED = "published", _("published")
    FAILED = "failed", _("build failed")


class PublishedReadOnly(ValidationError):
    """Something tried to change a published release version."""


def _refuse_if_published(version_id: int | None) -> None:
    if version_id is None:
        return
    state = ReleaseVersion.objects.filter(pk=version_id).values_list("state", flat=True).first()
    if state == ReleaseState.PUBLISHED:
        raise PublishedReadOnly(
            _("This release version is published and cannot change; publish a new version.")
        )


class FrozenPart(models.Model):
    """A row of a release version: refused once its version is published."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        _refuse_if_published(self.version_id)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_if_published(self.version_id)
        return super().delete(*args, **kwargs)


class LabelDefinition(models.Model):
    """A label a release can carry: a name (its manifest column), a title and description, and
    the rule that computes it from a case (curation.releases.labels)."""

    name = models.SlugField(_("name"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    rule = models.CharField(_("rule"), max_length=40, choices=RULE_CHOICES)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Release(models.Model):
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class ReleaseVersion(models.Model):
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(_("version"), max_length=20)
    major = models.PositiveIntegerField(editable=False)
    minor = models.PositiveIntegerField(editable=False)
    patch = models.PositiveIntegerField(editable=False)
    state = models.CharField(
        _("state"), max_length=12, choices=ReleaseState.choices, default=ReleaseState.DRAFT
    )
    description = models.TextField(_("description"), max_length=10000)
    licence_name = models.CharField(_("licence"), max_length=200)
    licence_url = models.URLField(_("licence URL"), blank=True)
    citation = models.TextField(_("how to cite"), max_length=2000)
    changelog_note = models.TextField(_("what changed and why"), blank=True, max_length=5000)
    # The definition: which accepted cases and images (curation.services.releases.SELECTION_KEYS),
    # which labels, how to split. Frozen with the version; the same definition and seed give
    # the same splits.
    selection = models.JSONField(_("selection"), default=dict, blank=True)
    label_names = models.JSONField(_("labels"), default=list, blank=True)
    stratify_by = models.JSONField(_("stratify by labels"), default=list, blank=True)
    stratify_by_site = models.BooleanField(_("stratify by site"), default=True)
    fractions = models.JSONField(_("split fractions"), default=list)
    seed = models.BigIntegerField(_("seed"))
    near_radius = models.PositiveSmallIntegerField(_("near-duplicate radius"))

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True, db_index=True)
    build_started_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    build_attempts = models.PositiveSmallIntegerField(default=0)
    build_error = models.CharField(max_length=500, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # What the build counted (curation.releases.datasheet's stats), for the catalogue and the
    # datasheet: per split, label, site and step; never a case or an image.
    stats = models.JSONField(default=dict, blank=True)
    image_count = models.PositiveIntegerField(default=0)
    total_bytes = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["release", "-major", "-minor", "-patch"]
        # Held per version through guardian by the grants of access_requests (a group per grant);
        # nothing here knows who holds it.
        permissions = [("download_releaseversion", _("Can download this release version"))]
        constraints = [
            models.UniqueConstraint(fields=["release", "version"], name="release_version_unique"),
            models.CheckConstraint(
                condition=~models.Q(state="published") | models.Q(published_at__isnull=False),
                name="release_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.release_id}@{self.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            _refuse_if_published(self.pk)
        self.major, self.minor, self.patch = parse_version(self.version)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_if_published(self.pk)
        return super().delete(*args, **kwargs)

    @property
    def label(self) -> str:
        return f"{self.release.slug}@{self.version}"

    @property
    def is_published(self) -> bool:
        return self.state == ReleaseState.PUBLISHED


class ReleaseBlob(models.Model):
    """A frozen file, stored once under its SHA-256 (images shared by versions are stored once)."""

    sha256 = models.CharField(max_length=64, unique=True)
    bytes = models.PositiveBigIntegerField()
    storage_key = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.sha256

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PublishedReadOnly(_("A stored release file never changes."))
        super().save(*args, **kwargs)


class ReleaseImage(FrozenPart):
    """One row of a version's manifest. `labels` is empty in the test split: its labels are in
    SequesteredLabel, which no researcher-facing file, page or API reads."""

    version = models.ForeignKey(ReleaseVersion, on_delete=models.CASCADE, related_name="images")
    image_id = models.CharField(max_length=24)
    path = models.CharField(max_length=300)
    blob = models.ForeignKey(ReleaseBlob, on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64)
    bytes = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    case_code = models.CharField(max_length=24)
    subject_code = models.CharField(max_length=24)
    site = models.CharField(max_length=50)
    step = models.CharField(max_length=40)
    order = models.PositiveSmallIntegerField()
    split = models.CharField(max_length=12, choices=SPLIT_CHOICES)
    labels = models.JSONField(default=dict, blank=True)
    # Where it came from in the bank (for the next version's changelog); never exported.
    source_image_id = models.BigIntegerField()
    source_case_id = models.BigIntegerField()

    class Meta:
        ordering = ["version", "split", "case_code", "order", "image_id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "image_id"], name="releaseimage_id_unique"),
            models.UniqueConstraint(fields=["version", "path"], name="releaseimage_path_unique"),
            models.CheckConstraint(
                condition=~models.Q(split="test") | models.Q(labels={}),
                name="releaseimage_test_labels_sequestered",
            ),
        ]
        indexes = [models.Index(fields=["version", "split"], name="releaseimage_split")]

    def __str__(self) -> str:
        return self.image_id


class SequesteredLabel(FrozenPart):
    """A test-split image's label value: read only inside evaluation (the benchmark)."""

    version = models.ForeignKey(
        ReleaseVersion, on_delete=models.CASCADE, related_name="sequestered_labels"
    )
    image_id = models.CharField(max_length=24)
    case_code = models.CharField(max_length=24)
    label = models.CharField(max_length=40)
    value = models.CharField(max_length=60, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "image_id", "label"], name="sequesteredlabel_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.image_id} {self.label}"


class ReleaseFile(FrozenPart):
    """A version's other files: manifest.csv, manifest.parquet, croissant.json, datasheet.md,
    LICENSE.txt."""

    version = models.ForeignKey(ReleaseVersion, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=100)
    blob = models.ForeignKey(ReleaseBlob, on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64)
    bytes = models.PositiveBigIntegerField()
    encoding = models.CharField(max_length=60)

    class Meta:
        ordering = ["version", "path"]
        constraints = [
            models.UniqueConstraint(fields=["version", "path"], name="releasefile_path_unique")
        ]

    def __str__(self) -> str:
        return self.path


class ChangeKind(models.TextChoices):
    ADDED = "added", _("case added")
    REMOVED = "removed", _("case removed")
    RELABELLED = "relabelled", _("case relabelled")
    IMAGE_EXCLUDED = "image_excluded", _("image left out")
    IMAGE_ADDED = "image_added", _("image added")


class ReleaseChange(FrozenPart):
    """One line of a version's changelog against the previous version of the same release."""

    version = models.ForeignKey(ReleaseVersion, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    case_code = models.CharField(max_length=24)
    image_id = models.CharField(max_length=24, blank=True)
    why = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["version", "kind", "case_code", "image_id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.case_code} {self.image_id}".strip()


class ReleaseAudit(models.Model):
    """One re-hash of every stored file of a version (audit_release, and the periodic task)."""

    version = models.ForeignKey(ReleaseVersion, on_delete=models.CASCADE, related_name="audits")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    files_checked = models.PositiveIntegerField(default=0)
    missing = models.JSONField(default=list, blank=True)  # release paths
    changed = models.JSONField(default=list, blank=True)  # release paths
    ok = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"audit of {self.version_id} at {self.started_at}"
