"""DICOM arrives here from prepared.prepare_upload (files with the DICM preamble).

Reading and de-identifying DICOM (PS3.15 Annex E) is the next step of the ingestion work; until
then a DICOM upload is refused with a clear message instead of being stored unread.
"""

from django.utils.translation import gettext as _

from imagebank.image_processing import InvalidImage


def _refuse(filename: str) -> InvalidImage:
    return InvalidImage(
        _("%(file)s is a DICOM file; this version of the bank does not accept DICOM yet.")
        % {"file": filename}
    )


def prepare(data: bytes, filename: str, received_sha256: str):
    raise _refuse(filename)


def display_image(data: bytes, filename: str):
    raise _refuse(filename)
