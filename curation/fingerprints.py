"""The near-duplicate index: fingerprints of images, and the look-ups that answer "is this image
already in the bank?" (docs/near-duplicates.md).

- `fingerprint_of(data)`: the 64-bit perceptual hash of a stored file (imagehash.phash of one
  reduced decode, shown the right way up);
- `index_image`, `index_missing`: keep the index (curation.models.ImageFingerprint) up to date;
- `find_similar(phash, radius=…)`: every indexed image within the Hamming radius, found through
  multi-index hashing, exactly what an exhaustive scan finds;
- `matches_for_file(data, radius=…)`, `matches_for_image(image, data, radius=…)`: exact matches
  (SHA-256 of the file as received or as stored) and near ones, each image once. The radius in
  force for the bank is curation.checks.duplicate_check.bank_radius().
"""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache

import imagehash
from django.db import connection
from django.db.models import Q
from PIL import Image as PILImage
from PIL import ImageOps

from curation.models import ImageFingerprint
from curation.models.fingerprints import CHUNK_FIELDS, CHUNK_SHIFTS, CHUNK_WIDTHS, CHUNKS
from imagebank import outages
from imagebank.imaging.prepared import is_dicom, prepare_upload
from imagebank.models import Image
from imagebank.storage import read_bytes

# How the hash is made; bump it when the procedure changes (index_missing re-indexes old rows).
ALGORITHM = "phash64-draft256"
# JPEGs are decoded at a reduced scale (draft mode), at least this many pixels on each side:
# pHash looks at a 32×32 reduction, and a 1/2–1/8 scale decode costs a fraction of a full one.
DECODE_SIDE = 256
HASH_BITS = 64
# Beyond this sub-radius per chunk (radius 12 and more) the probes outnumber what they save: scan
# instead (still exact).
MAX_SUB_RADIUS = 3

EXACT = "exact"
NEAR = "near"


@dataclass(frozen=True)
class Match:
    """One image of the bank that matches what was looked up."""

    image: int
    case: int
    site: str
    original_filename: str
    original_sha256: str
    kind: str  # EXACT (same SHA-256, received or stored) or NEAR (perceptual hash within radius)
    distance: int  # Hamming distance of the perceptual hashes; 0 for an exact match

    def as_dict(self) -> dict:
        return asdict(self)


# --- hashing -----------------------------------------------------------------------------------


def _upright(data: bytes) -> PILImage.Image:
    if is_dicom(data):
        from imagebank.imaging import dicom  # pydicom only when DICOM is met

        return dicom.display_image(data, "image")
    image = PILImage.open(io.BytesIO(data))
    if image.format == "JPEG":
        image.draft("RGB", (DECODE_SIDE, DECODE_SIDE))
    return ImageOps.exif_transpose(image)


def phash_of_image(image: PILImage.Image) -> int:
    """imagehash.phash (64 bits) of a decoded picture, as an unsigned integer."""
    return int(str(imagehash.phash(image)), 16)


def fingerprint_of(data: bytes) -> int:
    """The perceptual hash of a file as the bank stores it (JPEG, PNG, TIFF or DICOM), unsigned.
    Raises whatever Pillow raises for bytes it cannot decode."""
    return phash_of_image(_upright(data))


def distance(a: int, b: int) -> int:
    return ((a ^ b) & (2**HASH_BITS - 1)).bit_count()


def to_signed(value: int) -> int:
    """The unsigned 64-bit hash as the signed integer a BigIntegerField stores."""
    value &= 2**HASH_BITS - 1
    return value - 2**HASH_BITS if value >= 2 ** (HASH_BITS - 1) else value


def to_unsigned(value: int) -> int:
    return value & (2**HASH_BITS - 1)


def chunks_of(phash: int) -> tuple[int, ...]:
    """The CHUNKS chunks of the hash, the most significant first (as the model stores them)."""
    return tuple(
        (phash >> shift) & ((1 << width) - 1)
        for shift, width in zip(CHUNK_SHIFTS, CHUNK_WIDTHS, strict=True)
    )


def fingerprint_row(image_id: int, phash: int) -> dict:
    """The column values of an ImageFingerprint (for bulk inserts too)."""
    return {
        "image_id": image_id,
        "algorithm": ALGORITHM,
        "phash": to_signed(phash),
        **dict(zip(CHUNK_FIELDS, chunks_of(phash), strict=True)),
    }


# --- keeping the index -------------------------------------------------------------------------


def index_image(image: Image, data: bytes | None = None) -> ImageFingerprint:
    """Store (or refresh) the image's fingerprint, from `data` (its stored file) or read from
    storage. Idempotent."""
    if data is None:
        data = read_bytes(image.file.name)
    row = fingerprint_row(image.pk, fingerprint_of(data))
    fingerprint, _ = ImageFingerprint.objects.update_or_create(
        image_id=row.pop("image_id"), defaults=row
    )
    return fingerprint


def index_processed_image(image: Image, data: bytes | None) -> None:
    """The core's image processor (imagebank.hooks.register_image_processor): index an image as
    soon as it is processed. A file the hash cannot be made of is left out (the duplicate check
    says so at submission); an outage is raised for the core to log, and the duplicate check
    indexes the image again when its case is submitted."""
    from imagebank import outages

    try:
        index_image(image, data)
    except Exception as error:
        if outages.is_transient(error):
            raise
        logging.getLogger(__name__).info(
            "image %s not indexed: no perceptual hash can be made of it (%s)", image.pk, error
        )


def images_to_index(images=None):
    """Images (of `images`, or of the whole bank) without a fingerprint of the current
    algorithm."""
    current = ImageFingerprint.objects.filter(algorithm=ALGORITHM).values("image_id")
    images = Image.objects.all() if images is None else images
    return images.exclude(pk__in=current).order_by("pk")


@dataclass
class IndexReport:
    indexed: int = 0
    failed: int = 0


def index_missing(limit: int | None = None, *, images=None, on_error=None) -> IndexReport:
    """Index every image (of `images`, or of the bank) without a current fingerprint, at most
    `limit`. A file that cannot be decoded is counted and left out (`on_error(image, error)` is
    told), never raised: the duplicate check of that image records its own error. An outage
    (storage, database) is raised, for a task to retry."""
    report = IndexReport()
    queryset = images_to_index(images).only("pk", "file")
    if limit is not None:
        queryset = queryset[:limit]
    for image in queryset.iterator(chunk_size=500):
        try:
            index_image(image)
        except Exception as error:  # noqa: BLE001 - any unreadable file: count it, go on
            if outages.is_transient(error):
                raise
            report.failed += 1
            if on_error is not None:
                on_error(image, error)
        else:
            report.indexed += 1
    return report


# --- look-ups ----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _flips(sub_radius: int, width: int) -> tuple[int, ...]:
    """Every `width`-bit mask with at most `sub_radius` bits set."""
    masks = []
    for count in range(sub_radius + 1):
        for bits in itertools.combinations(range(width), count):
            masks.append(sum(1 << b for b in bits))
    return tuple(masks)


def probes(phash: int, radius: int) -> list[tuple[str, list[int]]] | None:
    """For each chunk, the chunk values a hash within `radius` of `phash` may have there, such
    that any hash within the radius has at least one of its chunks among them; None when the
    radius is too wide for probing to pay (a scan is then made).

    Pigeonhole, refined: write radius = CHUNKS·s + a (0 ≤ a < CHUNKS). If the last a+1 chunks
    each differed in more than s bits and the others in more than s−1, the whole hash would differ
    in at least (a+1)(s+1) + (CHUNKS−a−1)s = radius + 1 bits. So a hash within the radius is within
    s of the query on one of the last a+1 chunks, or within s−1 on one of the others (none when
    s = 0). The wider sub-radius goes to the last chunks: the widest, and without the DC bit.
    """
    if radius < 0:
        return []
    sub, extra = divmod(radius, CHUNKS)
    if sub > MAX_SUB_RADIUS:
        return None
    result = []
    for i, (field, value) in enumerate(zip(CHUNK_FIELDS, chunks_of(phash), strict=True)):
        within = sub if i >= CHUNKS - 1 - extra else sub - 1
        if within < 0:
            continue
        result.append((field, sorted(value ^ mask for mask in _flips(within, CHUNK_WIDTHS[i]))))
    return result


def _probe_query(plan: list[tuple[str, list[int]]]) -> tuple[str, list]:
    """The SQL reading the candidates of a plan from the chunk indexes: one condition per chunk,
    OR-ed (PostgreSQL: a bitmap OR of index scans; SQLite: its multi-index OR). PostgreSQL gets
    each chunk's values as one array parameter: planning hundreds of separate parameters would
    cost more than the look-up."""
    quote = connection.ops.quote_name
    table = quote(ImageFingerprint._meta.db_table)
    if connection.vendor == "postgresql":
        where = " OR ".join(f"{quote(field)} = ANY(%s)" for field, _ in plan)
        params: list = [values for _, values in plan]
    else:
        where = " OR ".join(
            f"{quote(field)} IN ({', '.join(['%s'] * len(values))})" for field, values in plan
        )
        params = [value for _, values in plan for value in values]
    # Only quoted column names are formatted in; every value is a parameter.
    sql = f"SELECT {quote('image_id')}, {quote('phash')} FROM {table} WHERE {where}"  # noqa: S608
    return sql, params


def candidates(phash: int, radius: int) -> Iterator[tuple[int, int]]:
    """(image id, unsigned hash) of every indexed image that may be within the radius: a superset
    of those that are, read from the chunk indexes (or every row, for a radius too wide)."""
    plan = probes(phash, radius)
    if plan == []:
        return  # a negative radius: nothing can be within it
    if plan is None:  # every row, a chunk at a time
        found = ImageFingerprint.objects.values_list("image_id", "phash").order_by()
        found = found.iterator(chunk_size=5000)
    else:  # a few hundred rows: one fetch
        sql, params = _probe_query(plan)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
    for image_id, stored in found:
        yield image_id, to_unsigned(stored)


def near_ids(phash: int, *, radius: int, exclude_image_id: int | None = None) -> dict[int, int]:
    """{image id: distance} of every indexed image within the radius (the index's answer)."""
    phash = to_unsigned(phash)
    found = {}
    for image_id, stored in candidates(phash, radius):
        if image_id == exclude_image_id:
            continue
        d = distance(phash, stored)
        if d <= radius:
            found[image_id] = d
    return found


def _describe(images: Iterable[Image], kinds: dict[int, tuple[str, int]]) -> list[Match]:
    matches = [
        Match(
            image=image.pk,
            case=image.case_id,
            site=image.case.site.slug,
            original_filename=image.original_filename,
            original_sha256=image.original_sha256,
            kind=kinds[image.pk][0],
            distance=kinds[image.pk][1],
        )
        for image in images
    ]
    matches.sort(key=lambda m: (m.kind != EXACT, m.distance, m.image))
    return matches


def _matches(
    *, sha256s: Iterable[str], phash: int | None, radius: int, exclude_image_id: int | None
) -> list[Match]:
    kinds: dict[int, tuple[str, int]] = {}
    if phash is not None:
        for image_id, d in near_ids(
            phash, radius=radius, exclude_image_id=exclude_image_id
        ).items():
            kinds[image_id] = (NEAR, d)
    hashes = sorted({h for h in sha256s if h})
    if hashes:
        exact = Image.objects.filter(Q(original_sha256__in=hashes) | Q(sha256__in=hashes))
        if exclude_image_id is not None:
            exact = exact.exclude(pk=exclude_image_id)
        for image_id in exact.values_list("pk", flat=True):
            kinds[image_id] = (EXACT, 0)  # listed once, as exact
    if not kinds:
        return []
    images = (
        Image.objects.filter(pk__in=list(kinds))
        .select_related("case__site")
        .only("pk", "case_id", "case__site__slug", "original_filename", "original_sha256")
    )
    return _describe(images, kinds)


def find_similar(phash: int, *, radius: int, exclude_image_id: int | None = None) -> list[Match]:
    """Every indexed image whose hash is within `radius` of `phash` (kind "near"), closest first."""
    return _matches(sha256s=(), phash=phash, radius=radius, exclude_image_id=exclude_image_id)


def matches_for_image(image: Image, data: bytes, *, radius: int) -> list[Match]:
    """The images of the bank, other than this one, that are the same file (as received or as
    stored) or look like it. Indexes the image first (the duplicate check's look-up)."""
    fingerprint = index_image(image, data)
    return _matches(
        sha256s=(image.sha256, image.original_sha256),
        phash=to_unsigned(fingerprint.phash),
        radius=radius,
        exclude_image_id=image.pk,
    )


def matches_for_file(data: bytes, *, radius: int, filename: str = "upload") -> list[Match]:
    """Is this file (as a contributor would send it) already in the bank? It is prepared as the
    bank would store it (checked, de-identified; nothing is stored) and looked up by the SHA-256
    of the file as sent and as it would be stored, and by its perceptual hash.

    Raises imagebank.imaging.results.InvalidImage for a file the bank would refuse."""
    prepared = prepare_upload(data, filename)
    stored_sha256 = hashlib.sha256(prepared.data).hexdigest()
    return _matches(
        sha256s=(prepared.received_sha256, stored_sha256),
        phash=fingerprint_of(prepared.data),
        radius=radius,
        exclude_image_id=None,
    )
