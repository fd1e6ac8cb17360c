"""A lone JPEG, PNG or TIFF file: one case with one image and no clinical metadata."""

from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from imagebank.ingest.items import CaseItem, ImageItem
from imagebank.ingest.report import IngestReport

FORMAT = "image"
EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff"})


def can_read(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in EXTENSIONS


def read(path: Path, report: IngestReport) -> Iterator[CaseItem]:
    report.warning(
        _(
            "A single image carries no clinical metadata or step: stored as step “other” in a case "
            "of its own; complete it on the case page."
        ),
        file=path.name,
    )
    yield CaseItem(
        reference=path.name,
        local_patient_id=path.stem,
        images=[
            ImageItem(filename=path.name, read=path.read_bytes, step="other", step_is_guess=True)
        ],
    )
