"""Issue 12's acceptance on the shared IARC banks: imported, checked, reviewed twice and accepted
through the review queue, with a second site's copies (re-encoded, resized, marked) of images of
several cases, a curator builds a release and exports it. The test then looks at the exported
files only: it computes the perceptual hash of every exported image itself and finds no
near-duplicate pair across two splits, no subject in two splits, no test label anywhere; the same
definition and seed rebuild the same splits; mlcroissant loads the metadata."""

import hashlib
import io
import itertools

import imagehash
import mlcroissant
import pandas as pd
import pytest
from django.core.management import call_command
from PIL import Image as PILImage

from curation.checks.defaults import DEFAULTS
from curation.models import ReleaseImage, SequesteredLabel
from curation.releases import manifest
from curation.services import releases
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image
from tests.conftest import SHARED_DATA, require_service
from tests.curation.test_iarc_quality_report import copies_of
from tests.factories import make_site, make_user_with_role
from tests.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

IARC = SHARED_DATA / "iarc"
RADIUS = DEFAULTS["duplicate"]["near_radius"]


def review_and_accept_everything():
    """Two reviewers of no site take the queue through the review services until it is empty,
    each accepting every case: the consensus accepts them, as the bank's real path does."""
    from curation.services import reviews
    from tests.curation.test_review_queue import accept

    for reviewer in (make_user_with_role(Role.REVIEWER), make_user_with_role(Role.REVIEWER)):
        while (review := reviews.claim_next(reviewer)) is not None:
            accept(review)
    assert not Case.objects.filter(state=CaseState.IN_REVIEW).exists()


def phash(path) -> imagehash.ImageHash:
    with PILImage.open(path) as picture:
        return imagehash.phash(picture)


@pytest.fixture
def iarc_bank(tmp_path, django_capture_on_commit_callbacks):
    require_service(IARC.exists(), f"{IARC} is not there (a fresh clone)")
    bank_site, other_site = make_site("iarc"), make_site("partner")
    for site in (bank_site, other_site):
        site.submission_requirements = []
        site.save()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ingest", str(IARC / "colposcopy"), str(IARC / "via"), "--site",
                     bank_site.slug, "--submit", stdout=io.StringIO())  # fmt: skip
    folder = tmp_path / "copies"
    folder.mkdir()
    originals = sorted((IARC / "colposcopy").glob("Case */*.jpg"))[::40][:4]
    copied = []
    for number, original in enumerate(originals):
        target = folder / f"{number}"
        target.mkdir()
        for copy in copies_of(original, target):
            with django_capture_on_commit_callbacks(execute=True):
                call_command("ingest", str(copy), "--site", other_site.slug, "--submit",
                             stdout=io.StringIO())  # fmt: skip
        copied.append(hashlib.sha256(original.read_bytes()).hexdigest())
    review_and_accept_everything()
    return {"site": bank_site, "other": other_site, "copied": copied}


def test_a_release_of_the_iarc_banks_does_not_leak_across_its_splits(iarc_bank, tmp_path):
    curator = make_user_with_role(Role.CURATOR)
    release = releases.create_release(slug="iarc", title="IARC image bank", actor=curator)

    def version(number: str):
        row = releases.define_version(
            release=release, actor=curator, version=number, description="The IARC banks.",
            licence_name="CC BY-NC 4.0", citation="IARC Cervical Cancer Image Bank.", seed=2026,
        )  # fmt: skip
        return releases.build_now(row, actor=curator)

    first = releases.publish(version("1.0.0"), actor=curator)
    accepted = Image.objects.filter(case__state=CaseState.ACCEPTED).count()
    assert first.image_count == accepted > 300
    out = tmp_path / "export"
    call_command("export_release", "iarc@1.0.0", "--out", str(out), stdout=io.StringIO())
    frame = manifest.read_manifest_csv(io.BytesIO((out / "manifest.csv").read_bytes()))
    assert len(frame) == first.image_count

    # Every file is where the manifest says, with its checksum.
    for row in frame.itertuples():
        data = (out / row.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.sha256 and len(data) == row.bytes

    # No subject in two splits.
    assert (frame.groupby("subject")["split"].nunique() == 1).all()
    # No near-duplicate pair across splits, by the test's own perceptual hashes of the files.
    hashes = [(row.split, phash(out / row.path)) for row in frame.itertuples()]
    crossing = [
        (a, b)
        for (a, ha), (b, hb) in itertools.combinations(hashes, 2)
        if a != b and ha - hb <= RADIUS
    ]
    assert not crossing, f"{len(crossing)} near-duplicate pairs across splits"
    # The partner site's copies are in the release, with their originals' split.
    partner = frame[frame["site"] == "partner"]
    assert len(partner) == 3 * len(iarc_bank["copied"])

    # The test split's labels appear nowhere in the export.
    test_ids = set(frame.loc[frame["split"] == "test", "image_id"])
    assert test_ids and SequesteredLabel.objects.filter(version=first).exists()
    label_columns = [c for c in frame.columns if c not in manifest.MANIFEST_COLUMNS]
    assert label_columns
    assert frame.loc[frame["split"] == "test", label_columns].isna().all().all()
    parquet = pd.read_parquet(out / "manifest.parquet")
    assert parquet.loc[parquet["split"] == "test", label_columns].isna().all().all()
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".md", ".txt"}:
            text = path.read_text(encoding="utf-8")
            assert not any(image_id in text for image_id in test_ids), path.name

    # The same definition and seed give the same splits, byte for byte.
    second = version("1.0.1")
    assert releases.read_file(second, "manifest.csv") == (out / "manifest.csv").read_bytes()
    assert set(ReleaseImage.objects.filter(version=second).values_list("image_id", "split")) == (
        set(frame[["image_id", "split"]].itertuples(index=False, name=None))
    )

    # The Croissant metadata loads with the reference library.
    dataset = mlcroissant.Dataset(jsonld=str(out / "croissant.json"))
    assert sum(1 for _ in dataset.records("images")) == first.image_count
