"""One uploaded file made ready for storage: checked, de-identified, described.

Every path into the bank (web form, API, case package, DICOM, IARC import) goes through
`prepare_upload`, so the checks and the de-identification are the same whatever the door.
"""

import hashlib
import io
from typing import IO

from django.utils.translation import gettext as _

from imagebank.imaging import deidentify
from imagebank.imaging import processing as image_processing
from imagebank.imaging.results import InvalidImage, PreparedImage

DICOM_MAGIC_OFFSET = 128


def is_dicom(data: bytes) -> bool:
    return data[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + 4] == b"DICM"


def check_upload(fileobj: IO[bytes], filename: str) -> None:
    """Raise InvalidImage if prepare_upload would refuse the file; keep nothing. Lets a form name
    every bad file before any is stored."""
    head = fileobj.read(DICOM_MAGIC_OFFSET + 4)
    fileobj.seek(0)
    if is_dicom(head):
        from imagebank.imaging import dicom

        try:
            dicom.prepare(fileobj.read(), filename, received_sha256="")
        finally:
            fileobj.seek(0)
        return
    image_processing.inspect(fileobj, filename)


def prepare_upload(data: bytes, filename: str, *, with_previews: bool = False) -> PreparedImage:
    """Check and de-identify one file; raise InvalidImage naming the file and what is wrong.

    `with_previews` makes the preview and thumbnail from the same decode that checks the file
    (bulk imports, which run in a worker or on the command line); otherwise the process_image
    task makes them after the upload has answered.
    """
    received_sha256 = hashlib.sha256(data).hexdigest()
    if is_dicom(data):
        from imagebank.imaging import dicom  # pydicom is imported only when DICOM arrives

        return dicom.prepare(data, filename, received_sha256)
    derivatives = None
    if with_previews:
        info, derivatives = image_processing.inspect_and_derive(io.BytesIO(data), filename)
    else:
        info = image_processing.inspect(io.BytesIO(data), filename)
    try:
        cleaned = deidentify.strip_metadata(data, info.source_format)
    except deidentify.MetadataStripError as error:
        raise InvalidImage(
            _("%(file)s is damaged: %(reason)s") % {"file": filename, "reason": error}
        ) from error
    if info.source_format == "tiff":
        # TIFF is re-encoded with its orientation applied, so width and height can swap.
        info = image_processing.inspect(io.BytesIO(cleaned), filename)
    return PreparedImage(
        data=cleaned,
        received_sha256=received_sha256,
        source_format=info.source_format,
        content_type=info.content_type,
        extension=info.extension,
        width=info.width,
        height=info.height,
        derivatives=derivatives,
    )
