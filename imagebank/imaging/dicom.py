"""DICOM arrives here from prepared.prepare_upload (files with the DICM preamble).

The bank accepts the photographic DICOM objects colposcopes and capture stations write: VL
Photographic Image, VL Endoscopic Image and Secondary Capture (single- and multi-frame true colour),
8 bits per sample, uncompressed, JPEG baseline or RLE lossless. Anything else is refused with a
message naming the file and what is wrong.

The stored object is the original with its header de-identified (dicom_deid): the pixel data and
its transfer syntax are kept byte for byte, so nothing is lost to re-encoding. A multi-frame object
is accepted whole; its first frame is what previews and checks see.
"""

import io
import re
import warnings

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image as PILImage
from pydicom import dcmread
from pydicom.dataset import Dataset, FileDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels import pixel_array
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
)

from imagebank.imaging import deidentify, dicom_deid
from imagebank.imaging.results import InvalidImage, PreparedImage
from imagebank.models.cases import MAX_AGE, MIN_AGE

SUPPORTED_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.77.1.4": "VL Photographic Image",
    "1.2.840.10008.5.1.4.1.1.77.1.1": "VL Endoscopic Image",
    "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image",
    "1.2.840.10008.5.1.4.1.1.7.4": "Multi-frame True Color Secondary Capture Image",
}
SUPPORTED_TRANSFER_SYNTAXES = frozenset(
    {ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, JPEGBaseline8Bit,
     RLELossless}
)  # fmt: skip
# Colour as cameras write it; MONOCHROME2 too, because green-filter (red-free) captures are often
# stored as grey images.
SUPPORTED_PHOTOMETRIC = {
    "RGB": 3,
    "YBR_FULL": 3,
    "YBR_FULL_422": 3,
    "MONOCHROME2": 1,
}

AGE_PATTERN = re.compile(r"^\s*(\d{1,3})\s*([DWMY])\s*$")
DAYS_PER_UNIT = {"D": 1, "W": 7, "M": 365.25 / 12, "Y": 365.25}


def _detail(error: Exception) -> str:
    # A parser's message can quote the bytes it choked on, and messages end up in import reports:
    # keep it short so a damaged file cannot spill its header into the bank.
    return str(error)[:80]


def _uid_name(value: str) -> str:
    uid = UID(value[:64])
    return (
        uid.name
        if uid.is_valid and uid.name != str(uid)
        else _("unknown (%(uid)s)") % {"uid": uid if uid.is_valid else "?"}
    )


def _invalid(filename: str, problem: str) -> InvalidImage:
    return InvalidImage(_("%(file)s: %(problem)s") % {"file": filename, "problem": problem})


def _read(data: bytes, filename: str) -> FileDataset:
    try:
        dataset = dcmread(io.BytesIO(data))
        # Values are converted lazily: touch them all now so a malformed one fails here.
        for element in dataset.iterall():
            element.value  # noqa: B018
    # pydicom meets hostile bytes with many exception types (ValueError, EOFError, KeyError,
    # struct.error, InvalidDicomError, ...): every one of them means the same thing here.
    except Exception as error:  # noqa: BLE001
        raise _invalid(
            filename, _("not a readable DICOM file (%(detail)s).") % {"detail": _detail(error)}
        ) from error
    return dataset


def _check(dataset: FileDataset, filename: str) -> None:
    """Refuse what the bank does not accept, before any pixel is decoded."""
    syntax = UID(str(dataset.file_meta.get("TransferSyntaxUID", "") or ""))
    if not syntax:
        raise _invalid(filename, _("not a readable DICOM file (no transfer syntax)."))
    if syntax not in SUPPORTED_TRANSFER_SYNTAXES:
        raise _invalid(filename, _("not supported: %(syntax)s") % {"syntax": _uid_name(syntax)})
    sop_class = str(dataset.get("SOPClassUID", "") or "")
    if sop_class not in SUPPORTED_SOP_CLASSES:
        raise _invalid(
            filename,
            _(
                "a %(kind)s object is not supported; the bank accepts VL Photographic, "
                "VL Endoscopic and Secondary Capture images."
            )
            % {"kind": _uid_name(sop_class) if sop_class else _("DICOM")},
        )
    if "PixelData" not in dataset:
        raise _invalid(filename, _("the file has no pixel data."))
    photometric = str(dataset.get("PhotometricInterpretation", "") or "")
    samples = dataset.get("SamplesPerPixel")
    if SUPPORTED_PHOTOMETRIC.get(photometric) != samples:
        raise _invalid(
            filename,
            _("photometric interpretation %(value)s is not supported (RGB, YBR or grey).")
            % {"value": photometric[:16] or "?"},
        )
    if dataset.get("BitsAllocated") != 8 or dataset.get("BitsStored") != 8:
        raise _invalid(filename, _("only 8 bits per sample are supported."))
    rows, columns = dataset.get("Rows") or 0, dataset.get("Columns") or 0
    if rows < 1 or columns < 1:
        raise _invalid(filename, _("the image has no rows or columns."))
    if rows * columns > settings.MAX_IMAGE_PIXELS:
        raise _invalid(
            filename,
            _("%(pixels)s pixels; the limit is %(limit)s.")
            % {"pixels": f"{rows * columns:,}", "limit": f"{settings.MAX_IMAGE_PIXELS:,}"},
        )


def _first_frame(dataset: Dataset, filename: str) -> PILImage.Image:
    """Decode the first frame as RGB; a decoding failure means damaged pixel data."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = pixel_array(dataset, index=0)  # YBR is converted to RGB by pydicom
    except Exception as error:  # noqa: BLE001 (see _read)
        raise _invalid(
            filename,
            _("the pixel data is damaged or truncated (%(detail)s).") % {"detail": _detail(error)},
        ) from error
    expected = (dataset.Rows, dataset.Columns)
    if array.dtype != np.uint8 or array.shape[:2] != expected:
        raise _invalid(filename, _("the pixel data does not match the image size."))
    if array.ndim == 2:
        return PILImage.fromarray(array, "L").convert("RGB")
    return PILImage.fromarray(array, "RGB")


def _checked(data: bytes, filename: str) -> FileDataset:
    with warnings.catch_warnings():
        # pydicom warns about every slightly irregular value; what matters is refused in _check.
        warnings.simplefilter("ignore")
        dataset = _read(data, filename)
        _check(dataset, filename)
    return dataset


def age_in_years(value: str) -> int | None:
    """DICOM AS ("045Y", "018M", "012W", "003D") in whole years; None if absent or implausible."""
    match = AGE_PATTERN.match(value or "")
    if not match:
        return None
    years = int(int(match[1]) * DAYS_PER_UNIT[match[2]] // 365.25)
    return years if MIN_AGE <= years <= MAX_AGE else None


def clinical_attributes(dataset: Dataset) -> dict:
    """What the header says about the visit, read before the header is de-identified."""
    attributes: dict = {}
    age = age_in_years(str(dataset.get("PatientAge", "") or ""))
    if age is not None:
        attributes["age_at_exam"] = age
    device = " ".join(
        str(dataset.get(keyword, "") or "").strip()
        for keyword in ("Manufacturer", "ManufacturerModelName")
    ).strip()
    if device:
        attributes["capture_device"] = device[:200]
    study_date = str(dataset.get("StudyDate", "") or "").strip()
    if re.match(r"^\d{8}$", study_date):
        attributes["exam_year"] = int(study_date[:4])  # only the year: a date can identify
    return attributes


def _strip_jpeg_frame_metadata(dataset: Dataset) -> None:
    """A colposcope that wraps its camera's JPEG into DICOM keeps the camera's EXIF (capture date,
    serial number, sometimes GPS) inside each frame, where the header profile does not reach.
    Remove those segments as for a plain JPEG upload: the compressed image data is copied
    unchanged, so the decoded pixels stay the same."""
    if dataset.file_meta.TransferSyntaxUID != JPEGBaseline8Bit:
        return
    pixel_data = dataset.PixelData
    frames = list(
        generate_frames(pixel_data, number_of_frames=int(dataset.get("NumberOfFrames") or 1))
    )
    cleaned = [deidentify.strip_metadata(frame, "jpeg") for frame in frames]
    if cleaned == [frame.rstrip(b"\x00") for frame in frames]:
        return  # nothing to remove: keep the encapsulation byte for byte
    # Bytes 4-8 are the length of the Basic Offset Table: keep it if there was one.
    has_offset_table = int.from_bytes(pixel_data[4:8], "little") > 0
    dataset.PixelData = encapsulate(cleaned, has_bot=has_offset_table)
    dataset["PixelData"].VR = "OB"


def prepare(data: bytes, filename: str, received_sha256: str) -> PreparedImage:
    """Check, decode the first frame of, and de-identify one DICOM file."""
    dataset = _checked(data, filename)
    _first_frame(dataset, filename)
    attributes = clinical_attributes(dataset)
    burned_in = str(dataset.get("BurnedInAnnotation", "") or "").strip().upper() == "YES"
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # see _checked
            dicom_deid.deidentify(dataset, settings.PSEUDONYM_KEY)
            _strip_jpeg_frame_metadata(dataset)
            dataset.save_as(buffer, enforce_file_format=True)
    except Exception as error:  # noqa: BLE001 (see _read)
        raise _invalid(
            filename,
            _("the header cannot be de-identified (%(detail)s).") % {"detail": _detail(error)},
        ) from error
    return PreparedImage(
        data=buffer.getvalue(),
        received_sha256=received_sha256,
        source_format="dicom",
        content_type="application/dicom",
        extension="dcm",
        width=int(dataset.Columns),
        height=int(dataset.Rows),
        burned_in_annotation=burned_in,
        attributes=attributes,
    )


def display_image(data: bytes, filename: str) -> PILImage.Image:
    """The first frame as an RGB picture, for previews and checks."""
    return _first_frame(_checked(data, filename), filename)
