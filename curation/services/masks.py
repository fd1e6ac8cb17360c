"""Importing segmentation masks (cervix, lesion, SCJ) from a folder of PNGs: `import_masks`.

Each file names its image: `Case-NNN_<image stem>.png`, the layout of the IARC VIA masks (NNN is
the case's number at the source, Case.source_reference such as "Case 001"; the stem is the image's
original file name without its extension, in any case; a name the bank withheld for privacy,
stored as a keyed hash, is found through the same hash), or plainly `<image stem>.png` when exactly
one image in scope has that stem. A file that matches no image, or several, is an error naming it;
the other files are imported all the same.

Masks come from outside the bank, so every file is treated as hostile: it must be a PNG by its
signature, at most MAX_MASK_BYTES and MAX_MASK_PIXELS, decode completely, and be binary ({0, 1}
or {0, 255}; grey, RGB with equal channels, or a palette of such colours). A mask drawn on a
resized copy of its image (the IARC masks are 512 × 512) is rescaled to the image's own size,
Image.width × Image.height (the upright picture, as the masks are drawn), nearest neighbour, so it
stays binary. It is stored once, as a one-channel 0/255 PNG under `masks/<sha256>.png`, and its row
written in the same transaction per file: a storage failure leaves no row.

An image keeps one mask per kind. Importing the same pixels again is "unchanged" (a re-run is
idempotent); different pixels are "skipped" unless `replace` is given (the old object stays in
storage: it is content-addressed and may be what an earlier benchmark read).
"""

import hashlib
import io
import os
import re
import stat
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath

import numpy as np
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image as PILImage

from curation.mask_selectors import mask_array
from curation.models.masks import Mask
from curation.models.reviews import OutlineKind
from curation.outlines import mask_png
from imagebank.filenames import withheld_name
from imagebank.models import Image
from imagebank.roles import CURATOR, has_role

# The extensions an image in the bank may have had (imagebank.imaging, imagebank.imaging.dicom).
IMAGE_EXTENSIONS = ("jpg", "jpeg", "jpe", "png", "tif", "tiff", "dcm", "dicom")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_MASK_BYTES = 20 * 1024 * 1024
MAX_MASK_PIXELS = 50_000_000

# "Case-001_AFC1": the IARC masks' names (tolerant of the separator and of leading zeros).
IARC_NAME = re.compile(r"^case[-_ ]*0*(\d+)_(.+)$", re.IGNORECASE)
# A case's reference at the source as the IARC importer writes it ("Case 001"), or near enough.
CASE_REFERENCE = re.compile(r"^\s*(?:case)?[\s\-_#]*0*(\d+)\s*$", re.IGNORECASE)

IMPORTED, REPLACED, UNCHANGED, SKIPPED, ERROR = (
    "imported",
    "replaced",
    "unchanged",
    "skipped",
    "error",
)
STATUSES = (IMPORTED, REPLACED, UNCHANGED, SKIPPED, ERROR)


class MaskImportError(ValueError):
    """The whole import cannot run (no such path, an unknown kind)."""


class BadMask(ValueError):
    """One file cannot be imported; the message names it and says why."""


@dataclass
class MaskFileLine:
    file: str
    status: str
    message: str
    image: int | None = None


@dataclass
class MaskImportReport:
    kind: str
    path: str
    files: list[MaskFileLine] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for line in self.files:
            counts[line.status] += 1
        return {"imported": counts[IMPORTED], "replaced": counts[REPLACED],
                "unchanged": counts[UNCHANGED], "skipped": counts[SKIPPED],
                "errors": counts[ERROR]}  # fmt: skip

    @property
    def problems(self) -> list[MaskFileLine]:
        return [line for line in self.files if line.status in (SKIPPED, ERROR)]

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "path": self.path,
            "counts": self.counts,
            "files": [asdict(line) for line in self.files],
        }


def import_masks(
    path: Path, *, kind: str, actor=None, site=None, replace: bool = False
) -> MaskImportReport:
    """Import the PNG masks of `kind` in the folder `path` (not its sub-folders), or the one file
    `path`, onto the images they name (of `site` only, when given). `actor`: the curator doing it
    (None from the command line, which is the operator's own). Never stops at a bad file."""
    if kind not in OutlineKind.values:
        raise MaskImportError(
            _("“%(kind)s” is not a kind of mask; give one of %(kinds)s.")
            % {"kind": kind, "kinds": ", ".join(OutlineKind.values)}
        )
    if actor is not None and not (actor.is_superuser or has_role(actor, CURATOR)):
        raise PermissionDenied(_("Only curators import masks."))
    path = Path(path)
    if path.is_dir():
        entries = sorted(path.iterdir(), key=lambda entry: entry.name)
    elif path.exists() or path.is_symlink():
        entries = [path]
    else:
        raise MaskImportError(_("%(path)s does not exist.") % {"path": path})
    report = MaskImportReport(kind=kind, path=str(path))
    for entry in entries:
        report.files.append(_import_one(entry, kind=kind, actor=actor, site=site, replace=replace))
    return report


def _import_one(entry: Path, *, kind: str, actor, site, replace: bool) -> MaskFileLine:
    name = entry.name
    try:
        data = _read_regular_file(entry)
    except _NotAFile as reason:
        return MaskFileLine(name, SKIPPED, str(reason))
    except BadMask as error:
        return MaskFileLine(name, ERROR, str(error))
    try:
        pixels = decode_mask(data, name)
        image = match_image(PurePath(name).stem, site=site, file=name)
        return _store(image, pixels, kind=kind, actor=actor, replace=replace, file=name)
    except BadMask as error:
        return MaskFileLine(name, ERROR, str(error))


class _NotAFile(Exception):
    """A link or something other than a regular file: left alone, with a line in the report."""


def _read_regular_file(entry: Path) -> bytes:
    """The file's bytes, read no further than the size limit. A link is not followed (it could
    point anywhere, even at a file the operator never meant to give), nor is anything opened that
    is not a regular file (a FIFO would block the import)."""
    name = entry.name
    if name.startswith("."):
        raise _NotAFile(_("%(file)s is a hidden file: left alone.") % {"file": name})
    try:
        info = os.lstat(entry)
        if stat.S_ISLNK(info.st_mode):
            raise _NotAFile(_("%(file)s is a link: left alone.") % {"file": name})
        if stat.S_ISDIR(info.st_mode):
            raise _NotAFile(_("%(file)s is a folder: sub-folders are not read.") % {"file": name})
        if not stat.S_ISREG(info.st_mode):
            raise _NotAFile(_("%(file)s is not a regular file: left alone.") % {"file": name})
        if info.st_size > MAX_MASK_BYTES:
            raise _too_many_bytes(name)
        # No following and no blocking, should the entry have been swapped since lstat.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        with os.fdopen(os.open(entry, flags), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise _NotAFile(_("%(file)s is not a regular file: left alone.") % {"file": name})
            data = handle.read(MAX_MASK_BYTES + 1)
    except OSError as error:
        raise BadMask(
            _("%(file)s cannot be read (%(detail)s).")
            % {"file": name, "detail": error.strerror or error}
        ) from error
    if len(data) > MAX_MASK_BYTES:
        raise _too_many_bytes(name)
    return data


def _too_many_bytes(name: str) -> BadMask:
    return BadMask(
        _("%(file)s is larger than %(limit)s MB: not a mask.")
        % {"file": name, "limit": MAX_MASK_BYTES // (1024 * 1024)}
    )


def decode_mask(data: bytes, name: str) -> np.ndarray:
    """The mask in the PNG `data` as a boolean array (height, width); BadMask naming `name` if
    the bytes are not a complete, binary PNG within the limits."""
    if not data.startswith(PNG_SIGNATURE):
        raise BadMask(_("%(file)s is not a PNG file.") % {"file": name})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            picture = PILImage.open(io.BytesIO(data), formats=["PNG"])
    except (PILImage.DecompressionBombWarning, PILImage.DecompressionBombError) as error:
        raise _too_large(name, None) from error
    # Pillow meets hostile bytes with many exception types: each means the same here.
    except Exception as error:  # noqa: BLE001
        raise BadMask(_("%(file)s is not a readable PNG.") % {"file": name}) from error
    if picture.width * picture.height > MAX_MASK_PIXELS:
        raise _too_large(name, picture.width * picture.height)
    try:
        picture.load()
    except Exception as error:  # noqa: BLE001 (as above)
        raise BadMask(
            _("%(file)s is damaged or truncated (%(detail)s).") % {"file": name, "detail": error}
        ) from error
    return _binary(_grey_values(picture, name), name)


def _too_large(name: str, pixels: int | None) -> BadMask:
    return BadMask(
        _("%(file)s has %(pixels)s pixels; a mask may have at most %(limit)s.")
        % {
            "file": name,
            "pixels": f"{pixels:,}" if pixels else _("too many"),
            "limit": f"{MAX_MASK_PIXELS:,}",
        }
    )


def _grey_values(picture: PILImage.Image, name: str) -> np.ndarray:
    """One value per pixel: the grey level, or the colour's where red, green and blue agree."""
    if picture.mode == "1":
        return np.asarray(picture).astype(np.uint8)
    if picture.mode == "L" or picture.mode.startswith("I"):
        return np.asarray(picture)
    if picture.mode == "P":
        has_alpha = "transparency" in picture.info or picture.palette.mode == "RGBA"
        picture = picture.convert("RGBA" if has_alpha else "RGB")
    if picture.mode in ("LA", "RGBA"):
        alpha = np.asarray(picture.getchannel("A"))
        if (alpha != 255).any():
            # Transparent pixels keep a colour nobody sees: inside or outside is a guess.
            raise BadMask(
                _("%(file)s has %(n)s transparent pixels; give an opaque mask.")
                % {"file": name, "n": f"{int((alpha != 255).sum()):,}"}
            )
        picture = picture.convert("L") if picture.mode == "LA" else picture.convert("RGB")
        if picture.mode == "L":
            return np.asarray(picture)
    if picture.mode != "RGB":
        raise BadMask(
            _("%(file)s is a %(mode)s image; a mask is grey, black and white, or RGB.")
            % {"file": name, "mode": picture.mode}
        )
    rgb = np.asarray(picture)
    coloured = (rgb[..., 0] != rgb[..., 1]) | (rgb[..., 1] != rgb[..., 2])
    if coloured.any():
        raise BadMask(
            _("%(file)s has %(n)s coloured pixels (red, green and blue differ); a mask is binary.")
            % {"file": name, "n": f"{int(coloured.sum()):,}"}
        )
    return rgb[..., 0]


def _binary(values: np.ndarray, name: str) -> np.ndarray:
    top = int(values.max()) if values.size else 0
    inside = 1 if top <= 1 else 255
    valid = (values == 0) | (values == inside)
    if not valid.all():
        found = np.unique(values)
        shown = ", ".join(str(int(v)) for v in found[:8]) + (" …" if len(found) > 8 else "")
        raise BadMask(
            _(
                "%(file)s is not binary: it has %(n)s different values (%(values)s); "
                "a mask has 0 and 1, or 0 and 255."
            )
            % {"file": name, "n": len(found), "values": shown}
        )
    return values == inside


def case_number(reference: str) -> int | None:
    """The number in a case's source reference ("Case 001", "case 1", " 001 "), or None."""
    found = CASE_REFERENCE.match(reference or "")
    return int(found.group(1)) if found else None


def _withheld_forms(stem: str) -> set[str]:
    """What the bank stores as the name of an image file with this stem whose name it withheld
    (imagebank.filenames: a name that could identify someone, such as IARC's "AFC1.jpg", becomes
    a keyed hash of the whole name): the hash of every likely name, so a withheld name is found
    without the bank ever storing it. Case matters to the hash, so the stem as given, in upper
    and in lower case."""
    forms = set()
    for variant in dict.fromkeys((stem, stem.upper(), stem.lower())):
        forms.add(withheld_name(variant))  # DICOM files often have no extension
        for extension in IMAGE_EXTENSIONS:
            for spelt in dict.fromkeys((extension, extension.upper(), extension.capitalize())):
                forms.add(withheld_name(f"{variant}.{spelt}"))
    return forms


def _images_with_stem(stem: str, site) -> list[Image]:
    withheld = _withheld_forms(stem)
    named = Image.objects.filter(
        Q(original_filename__in=withheld)
        | Q(original_filename__istartswith=f"{stem}.")
        | Q(original_filename__iexact=stem)
    ).select_related("case")
    if site is not None:
        named = named.filter(case__site=site)
    wanted = stem.casefold()
    return [
        image
        for image in named
        if image.original_filename in withheld
        or PurePath(image.original_filename).stem.casefold() == wanted
    ]


def match_image(stem: str, *, site=None, file: str = "") -> Image:
    """The one image in scope that the file stem `stem` names (see the module's docstring);
    BadMask naming `file` when none does, or several."""
    file = file or stem
    iarc = IARC_NAME.match(stem)
    if iarc:
        number, image_stem = int(iarc.group(1)), iarc.group(2)
        in_case = [
            i
            for i in _images_with_stem(image_stem, site)
            if case_number(i.case.source_reference) == number
        ]
        if len(in_case) == 1:
            return in_case[0]
        if len(in_case) > 1:
            raise _several(file, in_case)
        # An image may itself be called "Case-001_X.jpg": try the whole stem before giving up.
        whole = _images_with_stem(stem, site)
        if len(whole) == 1:
            return whole[0]
        if whole:
            raise _several(file, whole)
        raise BadMask(
            _("%(file)s: no image %(stem)s in a case numbered %(number)s%(scope)s.")
            % {"file": file, "stem": image_stem, "number": number, "scope": _scope(site)}
        )
    named = _images_with_stem(stem, site)
    if len(named) == 1:
        return named[0]
    if named:
        raise _several(file, named)
    raise BadMask(
        _("%(file)s: no image is named %(stem)s%(scope)s.")
        % {"file": file, "stem": stem, "scope": _scope(site)}
    )


def _scope(site) -> str:
    return _(" in site %(site)s") % {"site": site.slug} if site is not None else ""


def _several(file: str, images: list[Image]) -> BadMask:
    return BadMask(
        _(
            "%(file)s matches %(n)s images (%(images)s): name it Case-NNN_<image>.png "
            "or give the site."
        )
        % {
            "file": file,
            "n": len(images),
            "images": ", ".join(
                f"{i.case.source_reference or i.case_id}/{i.original_filename}" for i in images
            ),
        }
    )


def _store(
    image: Image, pixels: np.ndarray, *, kind: str, actor, replace: bool, file: str
) -> MaskFileLine:
    if not image.width or not image.height:
        raise BadMask(
            _("%(file)s: image %(image)s is not processed yet (its size is unknown).")
            % {"file": file, "image": image.pk}
        )
    source_height, source_width = pixels.shape
    rescaled = (source_width, source_height) != (image.width, image.height)
    if rescaled:
        pixels = _rescaled(pixels, image.width, image.height)
    png = mask_png(pixels)
    sha256 = hashlib.sha256(png).hexdigest()
    said = {
        "file": file,
        "kind": kind,
        "where": _("image %(image)s (%(case)s, %(name)s)")
        % {
            "image": image.pk,
            "case": image.case.source_reference or image.case_id,
            "name": image.original_filename,
        },
    }
    values = {"storage_key": mask_key(sha256), "sha256": sha256, "width": image.width,
              "height": image.height, "foreground_pixels": int(pixels.sum()),
              "source_name": file[:255], "source_width": source_width,
              "source_height": source_height, "imported_by": actor}  # fmt: skip
    try:
        with transaction.atomic():
            existing = Mask.objects.select_for_update().filter(image=image, kind=kind).first()
            if existing is not None and _same_pixels(existing, sha256, pixels):
                message = _("%(file)s: already the %(kind)s mask of %(where)s.") % said
                return MaskFileLine(file, UNCHANGED, message, image.pk)
            if existing is not None and not replace:
                message = _(
                    "%(file)s: %(where)s already has another %(kind)s mask, kept "
                    "(--replace replaces it)."
                )
                return MaskFileLine(file, SKIPPED, message % said, image.pk)
            _put(png, values["storage_key"])
            if existing is None:
                Mask.objects.create(image=image, kind=kind, **values)
            else:
                for attribute, value in values.items():
                    setattr(existing, attribute, value)
                existing.imported_at = timezone.now()
                existing.save()
    except IntegrityError as error:
        # Another import wrote this image's mask of this kind between our read and our write.
        message = _("%(file)s: %(where)s got a mask from another import meanwhile; run again.")
        raise BadMask(message % said) from error
    except Exception as error:  # noqa: BLE001 (storage back-ends raise anything: OSError, boto's)
        message = _("%(file)s could not be stored (%(detail)s); nothing was written.")
        raise BadMask(message % {**said, "detail": error}) from error
    message = _("%(file)s: the %(kind)s mask of %(where)s.") % said
    if rescaled:
        message += " " + _("Rescaled from %(sw)s × %(sh)s to %(w)s × %(h)s.") % {
            "sw": source_width,
            "sh": source_height,
            "w": image.width,
            "h": image.height,
        }
    return MaskFileLine(file, IMPORTED if existing is None else REPLACED, message, image.pk)


def _rescaled(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    # Nearest neighbour: every pixel keeps a value the mask had, so it stays binary.
    picture = PILImage.fromarray(np.where(pixels, 255, 0).astype(np.uint8), mode="L")
    return np.asarray(picture.resize((width, height), PILImage.Resampling.NEAREST)) > 0


def mask_key(sha256: str) -> str:
    return f"masks/{sha256}.png"


def _put(png: bytes, key: str) -> None:
    if not default_storage.exists(key):
        saved = default_storage.save(key, ContentFile(png, name=key))
        # A local storage renames on a race with an identical write: same bytes, keep the key.
        if saved != key:
            default_storage.delete(saved)


def _same_pixels(existing: Mask, sha256: str, pixels: np.ndarray) -> bool:
    if existing.sha256 == sha256:
        return True
    # Another encoder (an older Pillow or zlib) may write the same pixels as other bytes.
    if (existing.height, existing.width) != pixels.shape:
        return False
    try:
        return bool(np.array_equal(mask_array(existing), pixels))
    except Exception:  # noqa: BLE001 (an unreadable stored mask is not the same mask)
        return False
