"""The files the import page and `POST /api/ingest/` take, checked at the door.

Both offer a ZIP (a case package or an IARC image-bank folder), a DICOM file or one JPEG, PNG or
TIFF image. A file is taken only if its name says one of these and its first bytes agree, so a
`.txt` or a PDF renamed `.jpg` is refused with a message naming it before any import run exists.
The importer still checks everything in depth (a truncated JPEG, an unsafe ZIP): this is only the
door, not the check.
"""

import os
import zipfile
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from imagebank.imaging.prepared import DICOM_MAGIC_OFFSET

ZIP_EXTENSIONS = frozenset({".zip"})
DICOM_EXTENSIONS = frozenset({".dcm"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff"})

# What the file chooser offers (its `accept` attribute), the same kinds.
ACCEPT_ATTRIBUTE = (
    ".zip,application/zip,.dcm,application/dicom,.jpg,.jpeg,image/jpeg,.png,image/png,"
    ".tif,.tiff,image/tiff"
)

_IMAGE_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",  # PNG
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
    b"II+\x00",  # BigTIFF
    b"MM\x00+",
)
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a member first, or an empty archive


def _accepted_kinds() -> str:
    return _(
        "a ZIP (a case package or an IARC image-bank folder), a DICOM file (.dcm), or one JPEG, "
        "PNG or TIFF image"
    )


def _is_dicom(head: bytes) -> bool:
    return head[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + 4] == b"DICM"


def check_import_file(fileobj: IO[bytes], filename: str) -> None:
    """Raise a ValidationError on `file`, naming the file, unless it is a kind the import takes.

    Reads the first bytes only, and leaves the file at its start.
    """
    name = os.path.basename(filename or "") or _("The file")
    extension = os.path.splitext(name)[1].lower()
    fileobj.seek(0)
    head = fileobj.read(DICOM_MAGIC_OFFSET + 4)
    fileobj.seek(0)

    if extension in ZIP_EXTENSIONS:
        fits = head.startswith(_ZIP_SIGNATURES) and zipfile.is_zipfile(fileobj)
        fileobj.seek(0)
        kind = _("a ZIP archive")
    elif extension in DICOM_EXTENSIONS:
        fits, kind = _is_dicom(head), _("a DICOM file")
    elif extension in IMAGE_EXTENSIONS:
        # The bank reads an image by its content: a PNG saved as .jpg is still taken.
        fits, kind = head.startswith(_IMAGE_SIGNATURES) or _is_dicom(head), _("an image")
    elif not extension and _is_dicom(head):
        fits = True  # DICOM files often come from the device with no extension at all
    else:
        raise ValidationError(
            {
                "file": _("%(file)s is not a file the import takes: send %(kinds)s.")
                % {"file": name, "kinds": _accepted_kinds()}
            },
            code="unsupported",
        )
    if not fits:
        raise ValidationError(
            {
                "file": _(
                    "%(file)s is named as %(kind)s, but its content is not one. The import takes "
                    "%(kinds)s."
                )
                % {"file": name, "kind": kind, "kinds": _accepted_kinds()}
            },
            code="content",
        )
