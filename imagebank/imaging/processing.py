"""Reading, checking and deriving images with Pillow."""

import io
import math
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image as PILImage

from imagebank.imaging.results import Derivatives, InvalidImage

# Pillow's own format names mapped to the bank's source-format codes and content types.
SUPPORTED_FORMATS = {
    "JPEG": ("jpeg", "image/jpeg", "jpg"),
    "PNG": ("png", "image/png", "png"),
    "TIFF": ("tiff", "image/tiff", "tif"),
}


@dataclass(frozen=True)
class ImageInfo:
    source_format: str
    content_type: str
    extension: str
    width: int
    height: int


def _open(fileobj: IO[bytes], filename: str) -> PILImage.Image:
    fileobj.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            image = PILImage.open(fileobj)
    except (PILImage.DecompressionBombWarning, PILImage.DecompressionBombError) as error:
        raise InvalidImage(
            _("%(file)s has more pixels than the bank accepts (%(limit)s).")
            % {"file": filename, "limit": f"{settings.MAX_IMAGE_PIXELS:,}"}
        ) from error
    # Pillow's decoders meet hostile bytes with many exception types (some its own bugs): every
    # one of them means the same thing here.
    except Exception as error:  # noqa: BLE001
        raise InvalidImage(_("%(file)s is not a readable image.") % {"file": filename}) from error
    if image.width * image.height > settings.MAX_IMAGE_PIXELS:
        raise InvalidImage(
            _("%(file)s has %(pixels)s pixels; the limit is %(limit)s.")
            % {
                "file": filename,
                "pixels": f"{image.width * image.height:,}",
                "limit": f"{settings.MAX_IMAGE_PIXELS:,}",
            }
        )
    return image


def _open_supported(fileobj: IO[bytes], filename: str) -> tuple[PILImage.Image, ImageInfo]:
    image = _open(fileobj, filename)
    if image.format not in SUPPORTED_FORMATS:
        raise InvalidImage(
            _("%(file)s is a %(format)s image; the bank accepts JPEG, PNG and TIFF.")
            % {"file": filename, "format": image.format}
        )
    source_format, content_type, extension = SUPPORTED_FORMATS[image.format]
    return image, ImageInfo(source_format, content_type, extension, *image.size)


def _load_all(image: PILImage.Image, fileobj: IO[bytes], filename: str) -> None:
    """Decode every byte: truncated or corrupt data fails here, not later.

    JPEGs may have been put in draft mode to decode at a reduced scale: libjpeg still reads and
    entropy-decodes all the compressed data, so damage fails just the same, while the costly
    full-size inverse DCT and colour conversion are skipped (bench/ingest.py).
    """
    try:
        image.load()
    except Exception as error:  # noqa: BLE001 (see _open)
        raise InvalidImage(
            _("%(file)s is damaged or truncated (%(detail)s).")
            % {"file": filename, "detail": error}
        ) from error
    finally:
        fileobj.seek(0)


def inspect(fileobj: IO[bytes], filename: str) -> ImageInfo:
    """Check that the bytes are a complete JPEG, PNG or TIFF within the pixel limit."""
    image, info = _open_supported(fileobj, filename)
    if image.format == "JPEG":
        image.draft(image.mode, (max(1, info.width // 8), max(1, info.height // 8)))
    _load_all(image, fileobj, filename)
    return info


def inspect_and_derive(fileobj: IO[bytes], filename: str) -> tuple[ImageInfo, Derivatives]:
    """inspect() and derive() from one decode: for bulk imports, where decoding every image
    twice (once to check it, once for its preview) would be most of the cost."""
    image, info = _open_supported(fileobj, filename)
    orientation = image.getexif().get(0x0112, 1)
    _draft_for_preview(image)
    _load_all(image, fileobj, filename)
    return info, _derivatives(image, info.width, info.height, orientation)


# What shows an EXIF-oriented picture the right way up (the table ImageOps.exif_transpose uses).
EXIF_TRANSPOSE = {
    2: PILImage.Transpose.FLIP_LEFT_RIGHT,
    3: PILImage.Transpose.ROTATE_180,
    4: PILImage.Transpose.FLIP_TOP_BOTTOM,
    5: PILImage.Transpose.TRANSPOSE,
    6: PILImage.Transpose.ROTATE_270,
    7: PILImage.Transpose.TRANSVERSE,
    8: PILImage.Transpose.ROTATE_90,
}


# What a derived JPEG carries besides its pixels: nothing. Pillow's JPEG writer takes EXIF, XMP, the
# ICC profile and extra segments only from save()'s arguments, but the comment (COM) also from
# image.info, where the decode of an upload leaves the upload's own comment (and a PNG's "comment"
# text chunk): every one is given here, empty. No colour profile either: cameras write sRGB, which
# is what browsers assume of an untagged picture, and the original keeps its profile.
NO_METADATA = {"comment": b"", "exif": b"", "xmp": b"", "icc_profile": b"", "extra": b""}


def _jpeg(image: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, **NO_METADATA)
    return buffer.getvalue()


def _fitted(image: PILImage.Image, max_side: int) -> PILImage.Image:
    if max(image.size) <= max_side:
        return image  # nothing to do (a JPEG decoded in draft mode often arrives at size)
    copy = image.copy()
    copy.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
    return copy


def _draft_for_preview(image: PILImage.Image) -> None:
    """Decode at reduced scale where the codec can (JPEG): previews never need full resolution.
    draft() keeps at least the size asked for, so ask for the preview's own size."""
    scale = settings.PREVIEW_MAX_SIDE / max(image.size)
    if scale < 1:
        image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))


def _derivatives(image: PILImage.Image, width: int, height: int, orientation: int) -> Derivatives:
    if orientation in (5, 6, 7, 8):
        width, height = height, width  # EXIF turns the picture a quarter: report what is shown
    if image.mode != "RGB":
        image = image.convert("RGB")
    if orientation in EXIF_TRANSPOSE:
        image = image.transpose(EXIF_TRANSPOSE[orientation])
    preview_image = _fitted(image, settings.PREVIEW_MAX_SIDE)
    preview = _jpeg(preview_image)
    # The thumbnail comes from the preview: the same picture, a quarter of the work.
    thumbnail = _jpeg(_fitted(preview_image, settings.THUMBNAIL_MAX_SIDE))
    return Derivatives(width, height, preview, thumbnail)


def derive(data: bytes, filename: str = "image") -> Derivatives:
    """Dimensions, a preview and a thumbnail, shown the right way up."""
    if data[128:132] == b"DICM":
        from imagebank.imaging import dicom

        image = dicom.display_image(data, filename)
    else:
        image = _open(io.BytesIO(data), filename)
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    _draft_for_preview(image)
    return _derivatives(image, width, height, orientation)
