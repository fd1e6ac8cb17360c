"""Segmentation masks of bank images: cervix, lesion and squamocolumnar junction, one per image
and kind, imported from a folder of PNGs (`manage.py import_masks`, curation.services.masks).

A mask is stored once in private storage under its SHA-256, at its image's own size (a mask drawn
on a resized copy is rescaled back, nearest neighbour, at import), as a one-channel PNG with 0
outside and 255 inside. Reviewers' outlines (curation.models.Outline) are masks too; they are
rasterised on demand (curation.outlines), never stored here.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .reviews import OutlineKind


class Mask(models.Model):
    image = models.ForeignKey("imagebank.Image", on_delete=models.CASCADE, related_name="masks")
    kind = models.CharField(max_length=10, choices=OutlineKind.choices)
    storage_key = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # Pixels inside the mask: an empty mask is a real answer (no lesion), kept and counted.
    foreground_pixels = models.PositiveBigIntegerField()
    # The imported file's base name and its size, to trace a mask back to what was given.
    source_name = models.CharField(max_length=255)
    source_width = models.PositiveIntegerField()
    source_height = models.PositiveIntegerField()
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["image", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["image", "kind"], name="mask_image_kind_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=OutlineKind.values), name="mask_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} mask of image {self.image_id}"
