"""The near-duplicate index: it finds exactly what an exhaustive scan finds, copies of an image
are near and different images are not, exact copies are found by either SHA-256, and the
`duplicate` check's verdicts."""

import io
import random

import pytest
from django.db import IntegrityError, transaction
from PIL import Image as PILImage
from PIL import ImageDraw

from curation import fingerprints
from curation.checks import duplicate_check
from curation.checks.context import ImageContext
from curation.checks.defaults import DEFAULTS
from curation.models import CheckThreshold, ImageFingerprint
from fixtures.synthetic_cervix import render_jpeg
from imagebank.models import Image
from imagebank.storage import read_bytes
from tests.factories import add_image, make_case, make_contributor, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

RADIUS = int(DEFAULTS["duplicate"]["near_radius"])


# --- the lookup is exact -----------------------------------------------------------------------


def _bare_images(count: int) -> list[int]:
    """`count` image rows of one case (no files: the index only needs their ids)."""
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    rows = [
        Image(
            case=case,
            step="after_acetic_acid",
            display_order=n + 1,
            source_format="jpeg",
            file=f"images/{n}.jpg",
            content_type="image/jpeg",
            byte_size=1,
            sha256=f"{n:064x}",
            original_sha256=f"{n + 10**6:064x}",
            uploaded_by=contributor,
        )
        for n in range(count)
    ]
    Image.objects.bulk_create(rows, batch_size=500)
    return list(Image.objects.filter(case=case).order_by("pk").values_list("pk", flat=True))


def _flipped(rng: random.Random, value: int, bits: int) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


def _hash_bank(rng: random.Random) -> list[int]:
    """Uniform hashes, and clusters of hashes a few bits from a centre (as copies are), some of
    them differing in one chunk only and some with their differences spread over every chunk."""
    hashes = [rng.getrandbits(64) for _ in range(1500)]
    for _ in range(30):
        centre = rng.getrandbits(64)
        hashes.append(centre)
        hashes += [_flipped(rng, centre, rng.randint(0, 14)) for _ in range(40)]
        # differences in the last chunk only, or spread over every chunk
        hashes.append(centre ^ rng.getrandbits(21))
        hashes.append(centre ^ (1 << 60 | 1 << 40 | 1 << 20 | 1 << 3))
    # the extremes of the signed storage
    hashes += [0, 2**64 - 1, 2**63, 2**63 - 1]
    return hashes


@pytest.fixture
def hash_bank():
    rng = random.Random(20240305)
    hashes = _hash_bank(rng)
    ids = _bare_images(len(hashes))
    ImageFingerprint.objects.bulk_create(
        [
            ImageFingerprint(**fingerprints.fingerprint_row(i, h))
            for i, h in zip(ids, hashes, strict=True)
        ],
        batch_size=500,
    )
    return rng, dict(zip(ids, hashes, strict=True))


def _brute_force(stored: dict[int, int], query: int, radius: int) -> dict[int, int]:
    found = {}
    for image_id, value in stored.items():
        d = bin(value ^ query).count("1")
        if d <= radius:
            found[image_id] = d
    return found


def test_the_index_finds_exactly_what_an_exhaustive_scan_finds(hash_bank):
    rng, stored = hash_bank
    values = list(stored.values())
    compared = 0
    for radius in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 20]:
        queries = [rng.getrandbits(64) for _ in range(5)]
        queries += [
            _flipped(rng, rng.choice(values), rng.randint(0, radius + 3)) for _ in range(25)
        ]
        for query in queries:
            expected = _brute_force(stored, query, radius)
            assert fingerprints.near_ids(query, radius=radius) == expected, (radius, hex(query))
            compared += len(expected)
    assert compared > 500  # the queries did land near stored hashes


def test_any_hash_within_the_radius_shares_a_probed_chunk():
    """The pigeonhole argument, on its own: whatever the radius, every hash within it has at
    least one chunk among the values the look-up probes."""
    rng = random.Random(7)
    assert fingerprints.probes(0, 12) is None  # from 12 on, a scan answers (still exact)
    for radius in range(0, 12):
        for _ in range(300):
            query = rng.getrandbits(64)
            other = _flipped(rng, query, rng.randint(0, radius))
            plan = dict(fingerprints.probes(query, radius))
            chunks = dict(
                zip(fingerprints.CHUNK_FIELDS, fingerprints.chunks_of(other), strict=True)
            )
            assert any(chunks[field] in values for field, values in plan.items()), radius


def test_the_chunks_must_agree_with_the_hash():
    (image_id,) = _bare_images(1)
    row = fingerprints.fingerprint_row(image_id, 0x0123456789ABCDEF)
    row["chunk2"] ^= 1
    with pytest.raises(IntegrityError), transaction.atomic():
        ImageFingerprint.objects.create(**row)


def test_hashes_are_stored_signed_and_read_back_unsigned():
    ids = _bare_images(2)
    for image_id, value in zip(ids, (2**64 - 1, 2**63), strict=True):
        ImageFingerprint.objects.create(**fingerprints.fingerprint_row(image_id, value))
    assert fingerprints.near_ids(2**64 - 1, radius=0) == {ids[0]: 0}
    assert fingerprints.near_ids(2**63, radius=1) == {ids[1]: 0}


# --- what counts as a copy ---------------------------------------------------------------------


def _jpeg(image: PILImage.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _copies(data: bytes) -> dict[str, bytes]:
    picture = PILImage.open(io.BytesIO(data)).convert("RGB")
    width, height = picture.size
    marked = picture.copy()
    draw = ImageDraw.Draw(marked)
    draw.line([(width * 0.1, height * 0.1), (width * 0.4, height * 0.3)], fill=(0, 255, 0), width=3)
    draw.text((10, 10), "CASE 12 LUGOL", fill=(255, 255, 255))
    png = io.BytesIO()
    picture.save(png, "PNG")
    return {
        "re-encoded at quality 40": _jpeg(picture, 40),
        "as a PNG": png.getvalue(),
        "half size": _jpeg(picture.resize((width // 2, height // 2))),
        "twice the size": _jpeg(picture.resize((width * 2, height * 2))),
        "two thirds": _jpeg(picture.resize((width * 2 // 3, height * 2 // 3))),
        "with a line and text drawn on it": _jpeg(marked),
    }


def test_copies_of_an_image_are_near_and_different_images_are_not():
    original = render_jpeg("after_acetic_acid", seed=3)
    base = fingerprints.fingerprint_of(original)
    for edit, copy in _copies(original).items():
        assert fingerprints.distance(base, fingerprints.fingerprint_of(copy)) <= RADIUS, edit
    for seed in (4, 5, 11):
        other = fingerprints.fingerprint_of(render_jpeg("after_acetic_acid", seed=seed))
        assert fingerprints.distance(base, other) > RADIUS, seed


def test_index_image_is_idempotent_and_index_missing_fills_the_gaps(
    django_capture_on_commit_callbacks,
):
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    first = add_image(case, contributor, seed=1, size=(320, 240))
    second = add_image(case, contributor, "after_acetic_acid", seed=2, size=(320, 240))
    fingerprints.index_image(first)
    fingerprints.index_image(first, read_bytes(first.file.name))
    assert ImageFingerprint.objects.count() == 1
    assert list(fingerprints.images_to_index().values_list("pk", flat=True)) == [second.pk]

    report = fingerprints.index_missing()
    assert (report.indexed, report.failed) == (1, 0)
    assert set(ImageFingerprint.objects.values_list("image_id", flat=True)) == {first.pk, second.pk}
    # a fingerprint of an older procedure counts as missing
    ImageFingerprint.objects.filter(image=first).update(algorithm="old")
    assert fingerprints.index_missing(limit=5).indexed == 1
    assert fingerprints.index_missing().indexed == 0


def test_an_unreadable_stored_file_is_counted_not_raised():
    (image_id,) = _bare_images(1)
    seen = []
    report = fingerprints.index_missing(on_error=lambda image, error: seen.append(image.pk))
    assert (report.indexed, report.failed, seen) == (0, 1, [image_id])


# --- exact and near matches of a file ----------------------------------------------------------


@pytest.fixture
def banked():
    """An image stored at one site, indexed."""
    site = make_site("kisumu")
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    data = render_jpeg("after_lugol", seed=21, size=(480, 360))
    from imagebank.services import images as image_services

    image = image_services.add_image(
        case=case,
        actor=contributor,
        fileobj=io.BytesIO(data),
        filename="lugol.jpg",
        step="after_lugol",
    )
    fingerprints.index_image(image)
    return image, data


def _with_comment(data: bytes, text: bytes) -> bytes:
    """The same JPEG with a comment segment after SOI: other bytes, the same stored object once
    the bank strips its metadata."""
    return data[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + data[2:]


def test_the_same_file_is_an_exact_match_by_its_received_sha256(banked):
    image, data = banked
    (match,) = fingerprints.matches_for_file(data, radius=RADIUS)
    assert match == fingerprints.Match(
        image=image.pk,
        case=image.case_id,
        site="kisumu",
        original_filename=image.original_filename,
        original_sha256=image.original_sha256,
        kind="exact",
        distance=0,
    )


def test_the_same_picture_with_other_metadata_is_an_exact_match_by_the_stored_sha256(banked):
    image, data = banked
    other = _with_comment(data, b"exported by the clinic's viewer")
    assert fingerprints.prepare_upload(other, "x.jpg").received_sha256 != image.original_sha256
    (match,) = fingerprints.matches_for_file(other, radius=RADIUS)
    assert (match.image, match.kind, match.distance) == (image.pk, "exact", 0)


def test_a_copy_is_a_near_match_and_a_different_image_none(banked):
    image, data = banked
    picture = PILImage.open(io.BytesIO(data)).convert("RGB")
    (match,) = fingerprints.matches_for_file(_jpeg(picture.resize((240, 180)), 50), radius=RADIUS)
    assert (match.image, match.kind) == (image.pk, "near")
    assert match.distance <= RADIUS
    assert (
        fingerprints.matches_for_file(
            render_jpeg("after_lugol", seed=22, size=(480, 360)), radius=RADIUS
        )
        == []
    )


def test_exact_matches_come_first_and_an_image_is_listed_once(banked):
    image, data = banked
    case = image.case
    near_copy = PILImage.open(io.BytesIO(data)).convert("RGB").resize((360, 270))
    from imagebank.services import images as image_services

    other = image_services.add_image(
        case=case,
        actor=image.uploaded_by,
        fileobj=io.BytesIO(_jpeg(near_copy, 60)),
        filename="copy.jpg",
        step="after_lugol",
    )
    fingerprints.index_image(other)
    matches = fingerprints.matches_for_file(data, radius=RADIUS)
    assert [(m.image, m.kind) for m in matches] == [(image.pk, "exact"), (other.pk, "near")]


# --- the duplicate check -----------------------------------------------------------------------


def _context(image: Image) -> ImageContext:
    image = Image.objects.select_related("case__site").get(pk=image.pk)
    return ImageContext(image=image, data=read_bytes(image.file.name))


def _store(site, data: bytes, name: str = "copy.jpg") -> Image:
    from imagebank.services import images as image_services

    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    return image_services.add_image(
        case=case, actor=contributor, fileobj=io.BytesIO(data), filename=name, step="after_lugol"
    )


def test_the_check_passes_an_image_with_no_copy_and_indexes_it(banked):
    image, _ = banked
    ImageFingerprint.objects.all().delete()
    finding = duplicate_check.duplicate(_context(image))
    assert (finding.verdict, finding.value, finding.threshold) == ("pass", None, RADIUS)
    assert finding.extra == {"matches": []}
    assert ImageFingerprint.objects.filter(image=image).exists()


def test_the_check_fails_an_exact_copy_at_another_site_naming_the_original(banked):
    original, data = banked
    copy = _store(make_site("lyon"), _with_comment(data, b"again"))
    finding = duplicate_check.duplicate(_context(copy))
    assert (finding.verdict, finding.value, finding.threshold) == ("fail", 0, RADIUS)
    assert f"image {original.pk} of case {original.case_id} (kisumu)" in finding.detail
    assert finding.extra["matches"] == [
        {
            "image": original.pk,
            "case": original.case_id,
            "site": "kisumu",
            "original_filename": original.original_filename,
            "original_sha256": original.original_sha256,
            "kind": "exact",
            "distance": 0,
        }
    ]


def test_the_check_warns_of_a_near_copy_and_uses_the_radius_in_force(banked):
    original, data = banked
    marked = PILImage.open(io.BytesIO(data)).convert("RGB")
    ImageDraw.Draw(marked).ellipse([300, 200, 360, 260], outline=(255, 255, 0), width=3)
    lyon = make_site("lyon")
    copy = _store(lyon, _jpeg(marked.resize((320, 240)), 70))
    finding = duplicate_check.duplicate(_context(copy))
    assert finding.verdict == "warn"
    (match,) = finding.extra["matches"]
    assert (match["image"], match["kind"], match["site"]) == (original.pk, "near", "kisumu")
    assert finding.value == match["distance"] <= RADIUS
    assert f"case {original.case_id}" in finding.detail

    # a curator's radius for the site: nothing counts as near at -1
    CheckThreshold.objects.create(
        check_name="duplicate", parameter="near_radius", site=lyon, value=-1
    )
    finding = duplicate_check.duplicate(_context(copy))
    assert (finding.verdict, finding.threshold) == ("pass", -1)


def test_the_check_finds_a_copy_in_the_same_case_whichever_is_checked_first(banked):
    original, data = banked
    ImageFingerprint.objects.all().delete()
    picture = PILImage.open(io.BytesIO(data)).convert("RGB")
    from imagebank.services import images as image_services

    twin = image_services.add_image(
        case=original.case,
        actor=original.uploaded_by,
        fileobj=io.BytesIO(_jpeg(picture, 60)),
        filename="twin.jpg",
        step="after_lugol",
    )
    for image, other in ((original, twin), (twin, original)):
        finding = duplicate_check.duplicate(_context(image))
        assert finding.verdict == "warn"
        assert [m["image"] for m in finding.extra["matches"]] == [other.pk]


def test_the_check_is_registered():
    from curation.checks import registry

    check = registry.get("duplicate")
    assert (check.level, check.run) == ("image", duplicate_check.duplicate)


# --- images enter the index as soon as they are processed ---------------------------------------


def test_an_uploaded_draft_image_is_indexed_when_processed_and_found_before_submission():
    from imagebank.services import images as image_services
    from imagebank.tasks import process_image

    site = make_site("lira")
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    data = render_jpeg("after_acetic_acid", seed=31, size=(480, 360))
    image = image_services.add_image(
        case=case, actor=contributor, fileobj=io.BytesIO(data), filename="a.jpg", step="other"
    )
    assert not ImageFingerprint.objects.filter(image=image).exists()
    process_image(image.pk)
    assert ImageFingerprint.objects.filter(image=image, algorithm=fingerprints.ALGORITHM).exists()
    # `similar` finds the draft's image (its case was never submitted).
    copy = io.BytesIO()
    PILImage.open(io.BytesIO(data)).resize((400, 300)).save(copy, "JPEG", quality=70)
    found = fingerprints.matches_for_file(copy.getvalue(), radius=duplicate_check.bank_radius())
    assert [m.image for m in found] == [image.pk]


def test_an_imported_image_with_its_previews_is_indexed_after_the_commit(
    django_capture_on_commit_callbacks,
):
    from imagebank.imaging.prepared import prepare_upload
    from imagebank.services import images as image_services

    site = make_site("mbale")
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    prepared = prepare_upload(render_jpeg("after_lugol", seed=32), "b.jpg", with_previews=True)
    with django_capture_on_commit_callbacks(execute=True):
        image = image_services.store_prepared(
            case=case, actor=contributor, prepared=prepared, filename="b.jpg", step="after_lugol"
        )
        assert not ImageFingerprint.objects.filter(image=image).exists()  # not before the commit
    assert ImageFingerprint.objects.filter(image=image).exists()


def test_a_failing_index_never_fails_the_image(monkeypatch):
    from imagebank.models import ProcessingStatus
    from imagebank.services import images as image_services
    from imagebank.tasks import process_image

    def broken(image, data=None):
        raise RuntimeError("index down")

    monkeypatch.setattr(fingerprints, "index_image", broken)
    site = make_site("gulu")
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    image = image_services.add_image(
        case=case,
        actor=contributor,
        fileobj=io.BytesIO(render_jpeg("after_acetic_acid", seed=33)),
        filename="c.jpg",
        step="after_acetic_acid",
    )
    assert process_image(image.pk) == ProcessingStatus.DONE
    image.refresh_from_db()
    assert image.processing_status == ProcessingStatus.DONE and image.preview
