"""The last check before an object is stored: image bytes carry nothing but what shows the pixels.

De-identification (imagebank.imaging.deidentify, ingest.dicom_deid) and the preview writer
(image_processing) are what make objects clean; this guard, called by storage.store_file for every
object the bank stores, makes sure that stays true for whatever code stores images later (overlays,
masks, exports). It reads headers only — a JPEG's segments up to its first scan, a PNG's chunk
list, the tags of a TIFF's directories, a DICOM header — never pixels, so it costs microseconds
(DICOM, parsed with pydicom, a millisecond or so).

What passes is exactly what the de-identifier keeps: JPEG JFIF, ICC profile and Adobe segments and
an EXIF segment holding the orientation alone; the PNG chunks of deidentify.PNG_KEPT_CHUNKS; TIFF
pixel-layout tags and the ICC profile; DICOM headers with the basic profile applied. Anything else
is refused with UncleanObject: a programming error (some code stores bytes it did not clean), never
a user's, so it is raised rather than reported.
"""

import io
import struct
import warnings
from typing import IO

from imagebank.imaging import deidentify
from imagebank.imaging.deidentify import (
    APP0,
    APP1,
    APP15,
    COM,
    EOI,
    EXIF_HEADER,
    ORIENTATION_TAG,
    RST,
    SOI,
    SOS,
    TEM,
)

# Extensions under which only the formats below may be stored.
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "jpe", "png", "tif", "tiff", "dcm", "dicom"})
# Image formats the bank never stores (GIF, BigTIFF, JPEG 2000; WebP, HEIC and AVIF below): bytes
# that start like one of them are refused outright, since their metadata is not checked here.
OTHER_IMAGE_SIGNATURES = (
    b"GIF87a",
    b"GIF89a",
    b"II+\x00",
    b"MM\x00+",
    b"\x00\x00\x00\x0cjP",
)
DICOM_MAGIC_OFFSET = 128

# TIFF tags that describe the pixels and how they are laid out (TIFF 6.0 baseline and extensions
# Pillow writes), and the ICC profile. Descriptions, dates, software, EXIF/GPS/XMP/IPTC IFDs go.
TIFF_KEPT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 266, 273, 274, 277, 278, 279, 280, 281, 282, 283, 284, 290,
     291, 296, 317, 318, 319, 320, 322, 323, 324, 325, 338, 339, 340, 341, 347, 529, 530, 531, 532,
     34675}
)  # fmt: skip
MAX_TIFF_PAGES = 1024


class UncleanObject(RuntimeError):
    """Bytes about to be stored carry metadata the bank never stores; the message says which."""


def check_clean(fileobj: IO[bytes], extension: str) -> None:
    """Raise UncleanObject unless the object's metadata is only what de-identification keeps.

    Objects that are not images (a JSON report, a ZIP) are not this guard's business and pass,
    unless their extension says they are an image.
    """
    reader = _Reader(fileobj)
    try:
        head = reader.read(0, DICOM_MAGIC_OFFSET + 4)
        if head.startswith(b"\xff\xd8"):
            _check_jpeg(reader)
        elif head.startswith(deidentify.PNG_SIGNATURE):
            _check_png(reader)
        elif head[:4] in (b"II*\x00", b"MM\x00*"):
            _check_tiff(reader, head)
        elif head[DICOM_MAGIC_OFFSET:] == b"DICM":
            _check_dicom(reader)
        elif head.startswith(OTHER_IMAGE_SIGNATURES) or head[8:12] in (b"WEBP", b"heic", b"avif"):
            raise UncleanObject("an image format the bank does not store (its metadata is unknown)")
        elif extension.lstrip(".").lower() in IMAGE_EXTENSIONS:
            raise UncleanObject(f"the bytes are not a {extension} image the bank can check")
    except struct.error as error:
        raise UncleanObject(f"the header is truncated ({error})") from error
    finally:
        fileobj.seek(0)


class _Reader:
    """Random access to a file object: its first bytes read once (where headers are), the rest
    only where a header points."""

    HEAD = 16 * 1024

    def __init__(self, fileobj: IO[bytes]) -> None:
        self.file = fileobj
        self.size = fileobj.seek(0, 2)
        fileobj.seek(0)
        self.head = fileobj.read(self.HEAD)

    def upto(self, end: int) -> bytes:
        """The bytes from the start to at least `end` (fewer only at the end of the file)."""
        if end > len(self.head) < self.size:
            self.file.seek(0)
            self.head = self.file.read(max(end, 2 * len(self.head)))
        return self.head

    def read(self, position: int, count: int) -> bytes:
        if position + count <= len(self.head):
            return self.head[position : position + count]
        self.file.seek(position)
        return self.file.read(count)

    def exactly(self, position: int, count: int) -> bytes:
        data = self.read(position, count)
        if len(data) != count:
            raise UncleanObject(f"the header is truncated at byte {position}")
        return data


# --- JPEG ------------------------------------------------------------------------------------


def _is_orientation_only(payload: bytes) -> bool:
    """An EXIF block of one IFD with the Orientation tag alone and no further IFD (no thumbnail,
    no EXIF or GPS sub-IFD): what deidentify writes."""
    tiff = payload[len(EXIF_HEADER) :]
    order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(tiff[:4])
    if order is None or len(tiff) < 8:
        return False
    (ifd,) = struct.unpack_from(order + "I", tiff, 4)
    if ifd + 18 > len(tiff):
        return False
    count, tag = struct.unpack_from(order + "HH", tiff, ifd)
    (next_ifd,) = struct.unpack_from(order + "I", tiff, ifd + 14)
    return count == 1 and tag == ORIENTATION_TAG and next_ifd == 0


def _check_jpeg(reader: _Reader) -> None:
    """Segments from SOI to the first SOS; the object must end with EOI (nothing appended)."""
    if reader.read(reader.size - 2, 2) != b"\xff\xd9":
        raise UncleanObject("the JPEG does not end with EOI (data after the picture?)")
    data, pos = reader.head, 2
    while True:
        if pos + 4 > len(data):
            data = reader.upto(pos + 4)
            if pos + 4 > len(data):
                raise UncleanObject(f"the JPEG header is truncated at byte {pos}")
        if data[pos] != 0xFF:
            raise UncleanObject(f"expected a JPEG marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte
            pos += 1
            continue
        if marker in (EOI, SOI, TEM, 0x00) or marker in RST:
            raise UncleanObject(f"JPEG marker 0xFF{marker:02X} before any scan")
        length = data[pos + 2] << 8 | data[pos + 3]
        if length < 2 or pos + 2 + length > reader.size:
            raise UncleanObject(f"JPEG segment 0xFF{marker:02X} has an invalid length")
        if marker == SOS:
            return
        if marker == COM:
            raise UncleanObject("the JPEG carries a comment (COM segment)")
        if APP0 <= marker <= APP15:
            data = reader.upto(pos + 2 + length)
            payload = data[pos + 4 : pos + 2 + length]
            exif = marker == APP1 and payload.startswith(EXIF_HEADER)
            if exif and not _is_orientation_only(payload):
                raise UncleanObject("the JPEG carries EXIF beyond the orientation")
            if not exif and not deidentify.keep_app_segment(marker, payload):
                raise UncleanObject(f"the JPEG carries an APP{marker - APP0} metadata segment")
        pos += 2 + length


# --- PNG -------------------------------------------------------------------------------------


def _check_png(reader: _Reader) -> None:
    pos = len(deidentify.PNG_SIGNATURE)
    while True:
        length, kind = struct.unpack(">I4s", reader.exactly(pos, 8))
        if kind not in deidentify.PNG_KEPT_CHUNKS:
            raise UncleanObject(f"the PNG carries a {kind!r} chunk")
        pos += 12 + length
        if pos > reader.size:
            raise UncleanObject("the PNG is truncated")
        if kind == b"IEND":
            break
    if pos != reader.size:
        raise UncleanObject("the PNG has data after IEND")


# --- TIFF ------------------------------------------------------------------------------------


def _check_tiff(reader: _Reader, head: bytes) -> None:
    order = "<" if head[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", head, 4)
    seen: set[int] = set()
    while ifd:
        if ifd in seen or len(seen) >= MAX_TIFF_PAGES:
            raise UncleanObject("the TIFF's directories loop or are too many")
        seen.add(ifd)
        (count,) = struct.unpack(order + "H", reader.exactly(ifd, 2))
        entries = reader.exactly(ifd + 2, 12 * count + 4)
        for index in range(count):
            (tag,) = struct.unpack_from(order + "H", entries, 12 * index)
            if tag not in TIFF_KEPT_TAGS:
                raise UncleanObject(f"the TIFF carries tag {tag}")
        (ifd,) = struct.unpack_from(order + "I", entries, 12 * count)


# --- DICOM -----------------------------------------------------------------------------------


def _check_dicom(reader: _Reader) -> None:
    """The basic profile applied (ingest.dicom_deid): no attribute it removes, none it blanks
    left with a value, no private tag, curve, overlay or person's name, and JPEG frames clean."""
    from pydicom import dcmread
    from pydicom.encaps import generate_frames
    from pydicom.uid import JPEGBaseline8Bit

    from imagebank.imaging import dicom_deid

    reader.file.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dataset = dcmread(reader.file)
        except Exception as error:  # noqa: BLE001 (pydicom's many parse errors mean one thing)
            raise UncleanObject(f"the DICOM header cannot be read ({error!s:.80})") from error
        if str(dataset.get("PatientIdentityRemoved", "")) != "YES":
            raise UncleanObject("the DICOM object is not marked de-identified")
        for keyword in dicom_deid.FILE_META_REMOVED:
            if keyword in dataset.file_meta:
                raise UncleanObject(f"the DICOM file meta carries {keyword}")
        for element in dataset.iterall():
            problem = _dicom_problem(element, dicom_deid)
            if problem:
                raise UncleanObject(f"the DICOM header {problem} ({element.tag})")
        if dataset.file_meta.get("TransferSyntaxUID") == JPEGBaseline8Bit:
            frames = int(dataset.get("NumberOfFrames") or 1)
            for frame in generate_frames(dataset.PixelData, number_of_frames=frames):
                frame = frame.rstrip(b"\x00")  # frames are padded to an even length
                _check_jpeg(_Reader(io.BytesIO(frame)))


def _dicom_problem(element, dicom_deid) -> str:
    tag = element.tag
    action = dicom_deid.ACTIONS.get(tag)
    empty = element.value in (None, "", b"") or (element.VR == "SQ" and not element.value)
    if tag.is_private:
        return "carries a private tag"
    if tag.group & 0xFF01 in (0x5000, 0x6000):  # the repeating groups dicom_deid removes
        return "carries a curve or overlay"
    if action == dicom_deid.X:
        return f"carries {element.keyword}, which the profile removes"
    if action == dicom_deid.Z and not empty:
        return f"carries a value in {element.keyword}, which the profile blanks"
    if action == dicom_deid.D and not empty:
        dummy = dicom_deid.DUMMY_BY_VR.get(element.VR, dicom_deid.DUMMY_TEXT)
        if element.VR != "SQ" and str(element.value) != dummy:
            return f"carries a real value in {element.keyword}"
    if action is None and element.VR == "PN" and not empty:
        return "carries a person's name"
    return ""
