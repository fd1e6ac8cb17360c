"""What the imaging functions return or raise, apart from the functions themselves.

Its own module so that processing, prepared and dicom can all use these types without importing
each other (processing decodes DICOM through dicom; dicom builds a PreparedImage).
"""

from dataclasses import dataclass, field


class InvalidImage(ValueError):
    """An upload that is not an image the bank accepts; the message names what is wrong."""


@dataclass(frozen=True)
class Derivatives:
    width: int
    height: int
    preview_jpeg: bytes
    thumbnail_jpeg: bytes


@dataclass(frozen=True)
class PreparedImage:
    """What the bank stores for one upload, and what it learnt from it."""

    data: bytes  # the de-identified object: the only bytes ever stored
    received_sha256: str  # of the original, which is not kept
    source_format: str
    content_type: str
    extension: str
    width: int
    height: int
    burned_in_annotation: bool = False
    # Clinical attributes the file itself carries (DICOM: age, device), to fill a case.
    attributes: dict = field(default_factory=dict)
    # Preview and thumbnail, when made with the check (prepare_upload's `with_previews`).
    derivatives: Derivatives | None = None
