"""Strip identifying metadata from uploaded images at ingest.

Cameras, PACS exports and editing tools write patient names, record numbers, dates, GPS positions
and free-text comments into image metadata. The bank keeps only the pixels and what is needed to
show them correctly (colour profile, orientation, JPEG tables). JPEG and PNG are rewritten by
copying the container's segments/chunks that are kept byte-for-byte, so the compressed picture
data is never decoded or re-encoded and no quality is lost. TIFF metadata lives in the same IFD as
the pixel layout, so a TIFF is re-encoded losslessly from its decoded pixels instead.
"""

import io
import re
import struct
import zlib

from PIL import Image as PILImage
from PIL import ImageOps, ImageSequence, UnidentifiedImageError

ORIENTATION_TAG = 0x0112
EXIF_HEADER = b"Exif\x00\x00"


class MetadataStripError(ValueError):
    """The image's container structure is malformed; the message says what is wrong."""


def strip_metadata(data: bytes, source_format: str) -> bytes:
    """Return `data` without identifying metadata.

    `source_format` is one of the bank's codes from image_processing.SUPPORTED_FORMATS.
    """
    if source_format == "jpeg":
        return _strip_jpeg(data)
    if source_format == "png":
        return _strip_png(data)
    if source_format == "tiff":
        return _strip_tiff(data)
    raise MetadataStripError(f"cannot de-identify images of format {source_format!r}")


# --- JPEG ------------------------------------------------------------------------------------

SOI, EOI, SOS, TEM, COM = 0xD8, 0xD9, 0xDA, 0x01, 0xFE
APP0, APP1, APP2, APP14, APP15 = 0xE0, 0xE1, 0xE2, 0xEE, 0xEF
RST = range(0xD0, 0xD8)

# The end of an entropy-coded scan: 0xFF followed by a byte that is not a stuffed zero, a restart
# marker (both belong to the scan itself) or another 0xFF (a fill byte). No repetition in the
# pattern, so the search runs at memchr speed (a `\xff+` prefix made it 15 times slower); fill
# bytes before the marker are stepped back over after the match.
_SCAN_END = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")


def keep_app_segment(marker: int, payload: bytes) -> bool:
    """Whether an APPn segment carries only rendering information, never free text."""
    if marker == APP0:
        return payload.startswith(b"JFIF\x00")
    if marker == APP2:
        return payload.startswith(b"ICC_PROFILE\x00")
    if marker == APP14:
        # Adobe's segment says whether the decoder must apply the YCbCr/YCCK colour transform.
        return payload.startswith(b"Adobe")
    return False  # APP1 (EXIF, XMP), APP3-APP13 (IPTC/Photoshop), APP15, other APP0/APP2


def _strip_jpeg(data: bytes) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        raise MetadataStripError("not a JPEG: the data does not start with an SOI marker")
    kept: list[bytes] = [b"\xff\xd8"]
    exif_at = 1  # where a new orientation-only EXIF goes: after SOI and a leading JFIF APP0
    orientation: int | None = None
    pos, end, seen_scan = 2, len(data), False
    while True:
        if pos >= end:
            raise MetadataStripError(f"JPEG ends at byte {pos} without an EOI marker")
        if data[pos] != 0xFF:
            raise MetadataStripError(f"expected a JPEG marker at byte {pos}")
        while pos < end and data[pos] == 0xFF:  # fill bytes may pad before any marker
            pos += 1
        if pos >= end:
            raise MetadataStripError("JPEG ends inside marker padding")
        marker = data[pos]
        start = pos - 1
        pos += 1
        if marker == EOI:
            if not seen_scan:
                raise MetadataStripError("JPEG has no image data (EOI before any SOS)")
            kept.append(b"\xff\xd9")
            break  # anything appended after EOI (trailers, hidden payloads) is dropped
        if marker == 0x00 or marker == SOI:
            raise MetadataStripError(f"invalid JPEG marker 0xFF{marker:02X} at byte {start}")
        if marker == TEM or marker in RST:
            kept.append(bytes((0xFF, marker)))
            continue
        if pos + 2 > end:
            raise MetadataStripError(f"JPEG segment 0xFF{marker:02X} at byte {start} is truncated")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > end:
            raise MetadataStripError(
                f"JPEG segment 0xFF{marker:02X} at byte {start} has an invalid length {length}"
            )
        payload = data[pos + 2 : pos + length]
        segment_end = pos + length
        if APP0 <= marker <= APP15 or marker == COM:
            if marker == APP1 and payload.startswith(EXIF_HEADER) and orientation is None:
                orientation = _exif_orientation(payload[len(EXIF_HEADER) :])
            if marker != COM and keep_app_segment(marker, payload):
                kept.append(b"\xff" + bytes((marker,)) + data[pos:segment_end])
                if marker == APP0 and len(kept) == 2:
                    exif_at = 2
        else:
            kept.append(b"\xff" + bytes((marker,)) + data[pos:segment_end])
        pos = segment_end
        if marker == SOS:
            # Copy the entropy-coded data verbatim up to the next real marker; a progressive or
            # multi-scan image goes on with more table/SOS segments, which the loop filters too.
            seen_scan = True
            found = _SCAN_END.search(data, pos)
            if found is None:
                raise MetadataStripError("JPEG scan data is truncated (no EOI marker)")
            scan_end = found.start()
            while scan_end > pos and data[scan_end - 1] == 0xFF:
                scan_end -= 1
            kept.append(data[pos:scan_end])
            pos = scan_end
    if orientation is not None and orientation != 1:
        kept.insert(exif_at, _orientation_segment(orientation))
    return b"".join(kept)


def _exif_orientation(tiff: bytes) -> int | None:
    """Read the Orientation tag from IFD0 of an EXIF (TIFF-structured) block.

    Parsed by hand rather than with Pillow so that a garbled EXIF block, which is discarded
    anyway, can only mean "no orientation" and never an unexpected exception.
    """
    if tiff[:4] == b"II*\x00":
        order = "<"
    elif tiff[:4] == b"MM\x00*":
        order = ">"
    else:
        return None
    if len(tiff) < 8:
        return None
    (ifd,) = struct.unpack_from(order + "I", tiff, 4)
    if ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    for index in range(count):
        entry = ifd + 2 + 12 * index
        if entry + 12 > len(tiff):
            return None
        tag, kind, number = struct.unpack_from(order + "HHI", tiff, entry)
        if tag == ORIENTATION_TAG:
            if kind != 3 or number != 1:  # must be one SHORT
                return None
            (value,) = struct.unpack_from(order + "H", tiff, entry + 8)
            return value if 1 <= value <= 8 else None
    return None


def _orientation_segment(orientation: int) -> bytes:
    """An APP1 EXIF segment holding nothing but the Orientation tag."""
    exif = PILImage.Exif()
    exif[ORIENTATION_TAG] = orientation
    payload = exif.tobytes()
    if not payload.startswith(EXIF_HEADER):  # older Pillow returned the bare TIFF structure
        payload = EXIF_HEADER + payload
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


# --- PNG -------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What is kept: the critical chunks and the ancillary ones that say how to show the pixels
# (transparency, colour space and profile, gamma, background, pixel size). Every other chunk goes:
# free text (tEXt, zTXt, iTXt: author, comment, software…), EXIF (eXIf), the last-modified time
# (tIME), suggested palettes (sPLT, which carry a name), animation frames and private chunks, whose
# content nobody can vouch for. The storage guard (metadata_guard) accepts exactly these.
PNG_CRITICAL_CHUNKS = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})
PNG_KEPT_CHUNKS = PNG_CRITICAL_CHUNKS | frozenset(
    {b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP", b"mDCV", b"cLLI", b"bKGD",
     b"hIST", b"pHYs"}
)  # fmt: skip


def _strip_png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise MetadataStripError("not a PNG: the signature is missing")
    kept = [PNG_SIGNATURE]
    pos, end = len(PNG_SIGNATURE), len(data)
    while True:
        if pos + 8 > end:
            raise MetadataStripError(f"PNG ends at byte {pos} without an IEND chunk")
        length, kind = struct.unpack_from(">I4s", data, pos)
        if length > 0x7FFFFFFF or pos + 12 + length > end:
            raise MetadataStripError(f"PNG chunk at byte {pos} is truncated or too long")
        if not kind.isalpha() or not kind.isascii():
            raise MetadataStripError(f"PNG chunk at byte {pos} has an invalid type {kind!r}")
        chunk_end = pos + 12 + length
        (crc,) = struct.unpack_from(">I", data, chunk_end - 4)
        if zlib.crc32(data[pos + 4 : chunk_end - 4]) != crc:
            raise MetadataStripError(f"PNG chunk {kind.decode()} at byte {pos} fails its CRC")
        if kind in PNG_KEPT_CHUNKS:
            kept.append(data[pos:chunk_end])
        elif kind[0] & 0x20 == 0:  # an upper-case first letter: critical, cannot be skipped
            raise MetadataStripError(f"PNG chunk {kind.decode()} at byte {pos} is not supported")
        pos = chunk_end
        if kind == b"IEND":
            break  # bytes appended after IEND are dropped
    return b"".join(kept)


# --- TIFF ------------------------------------------------------------------------------------

# What Pillow raises on a corrupt or hostile TIFF while opening or decoding it.
_PILLOW_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    PILImage.DecompressionBombError,
)


def _clean_frame(frame: PILImage.Image) -> PILImage.Image:
    """A new image holding only the frame's pixels, upright (its orientation tag is dropped)."""
    upright = ImageOps.exif_transpose(frame)
    clean = PILImage.frombytes(upright.mode, upright.size, upright.tobytes())
    if upright.mode in ("P", "PA") and (palette := upright.getpalette()):
        clean.putpalette(palette)
    return clean


def _strip_tiff(data: bytes) -> bytes:
    try:
        with PILImage.open(io.BytesIO(data)) as image:
            if image.format != "TIFF":
                raise MetadataStripError(f"not a TIFF: Pillow reads it as {image.format}")
            icc_profile = image.info.get("icc_profile")
            frames = [_clean_frame(frame) for frame in ImageSequence.Iterator(image)]
        buffer = io.BytesIO()
        options: dict = {"compression": "tiff_lzw"}
        if icc_profile:
            options["icc_profile"] = icc_profile  # colour management, not identifying
        # Fresh images carry no info/tags, so only the pixel-layout tags are written.
        frames[0].save(
            buffer, format="TIFF", save_all=len(frames) > 1, append_images=frames[1:], **options
        )
    except MetadataStripError:
        raise
    except _PILLOW_ERRORS as error:
        raise MetadataStripError(f"the TIFF cannot be decoded: {error}") from error
    return buffer.getvalue()
