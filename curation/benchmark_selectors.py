"""What the benchmark (model_bench) reads of a release version: its images by split, their
bytes, and, for evaluation only, the test split's sequestered labels.

A training job reads `split_images` and `image_bytes` for train and validation (whose labels are
on the rows) and the test split's rows, whose labels are empty by construction (a database
constraint, curation.models.ReleaseImage). `sequestered_labels` is the one way to the test
labels; only model_bench's evaluation calls it (tests/model_bench/test_sequestered.py checks it).
"""

import hashlib

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from curation.models import ReleaseImage, ReleaseVersion, SequesteredLabel
from imagebank import storage

SPLITS = ("train", "validation", "test")


def split_images(
    version: ReleaseVersion, split: str, *, steps: list[str] | tuple[str, ...] = ()
) -> QuerySet[ReleaseImage]:
    """The version's images of one split (optionally of some examination steps), in the
    manifest's order. Test rows carry no labels."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    rows = ReleaseImage.objects.filter(version=version, split=split).select_related("blob")
    if steps:
        rows = rows.filter(step__in=list(steps))
    return rows.order_by("case_code", "order", "image_id")


def split_counts(version: ReleaseVersion) -> dict[str, int]:
    counts = {split: 0 for split in SPLITS}
    for split in SPLITS:
        counts[split] = ReleaseImage.objects.filter(version=version, split=split).count()
    return counts


def image_bytes(row: ReleaseImage) -> bytes:
    """The stored bytes of a release image, checked against its SHA-256."""
    data = storage.read_bytes(row.blob.storage_key)
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise ValidationError(_("%(path)s does not match its SHA-256.") % {"path": row.path})
    return data


def sequestered_labels(version: ReleaseVersion, label: str) -> dict[str, str | None]:
    """The test split's values of one label, by image_id. For evaluation only: no training
    code, page or API may call this."""
    return dict(
        SequesteredLabel.objects.filter(version=version, label=label).values_list(
            "image_id", "value"
        )
    )
