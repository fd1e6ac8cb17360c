"""Building, publishing, auditing and exporting a release version, end to end through the services
and the commands, on synthetic accepted cases (tests/curation/test_release_iarc.py does the same
on the shared IARC banks).

What must hold: a subject's cases, and cases sharing (near-)duplicate images across subjects and
sites, land in one split; the test split's labels appear in no manifest, only in the sequestered
table; the same definition and seed give the same files byte for byte; a published version is
read-only and audit_release notices a stored file changed behind its back."""

import io
import json

import mlcroissant
import pandas as pd
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError

from curation.models import (
    ChangeKind,
    PublishedReadOnly,
    Release,
    ReleaseImage,
    ReleaseState,
    SequesteredLabel,
)
from curation.releases import manifest
from curation.services import releases
from fixtures.synthetic_cervix import render_jpeg
from imagebank.lifecycle import CaseState
from imagebank.models import Case
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.tasks import process_image
from tests.factories import make_case, make_contributor, make_site, make_user_with_role
from tests.roles import Role

pytestmark = pytest.mark.django_db

TZ = ("type_1", "type_2", "type_3")
HISTOLOGY = ("normal", "cin1", "cin2", "cin3", "scc")


def accept(case):
    for state in (CaseState.SUBMITTED, CaseState.QUALITY_CHECKS, CaseState.IN_REVIEW):
        case = case_services.transition_case(case=case, to_state=state)
    return case_services.transition_case(case=case, to_state=CaseState.ACCEPTED)


def add_images(case, actor, seed: int, data: bytes | None = None):
    for offset, step in enumerate(("before_acetic_acid", "after_acetic_acid", "after_lugol")):
        payload = (
            data
            if (data is not None and offset == 1)
            else render_jpeg(step, seed=seed * 10 + offset, size=(160, 120))
        )
        image = image_services.add_image(
            case=case, actor=actor, fileobj=io.BytesIO(payload), filename=f"PATIENT-{seed}.jpg",
            step=step,
        )  # fmt: skip
        process_image(image.pk)


@pytest.fixture
def bank():
    """Two sites; 24 accepted cases at the first (12 subjects with two cases each), and at the
    second site a case whose after-acetic-acid image is a copy of one of the first site's."""
    north, south = make_site("north"), make_site("south")
    contributor = make_contributor(north)
    cases = []
    for n in range(24):
        case = make_case(
            site=north,
            actor=contributor,
            local_patient_id=f"PATIENT-{n // 2:03d}",
            transformation_zone=TZ[n % 3],
            histopathology=HISTOLOGY[n % 5],
        )
        add_images(case, contributor, seed=n)
        cases.append(accept(case))
    copied = cases[5].images.get(step="after_acetic_acid")
    other = make_contributor(south)
    copy_case = make_case(site=south, actor=other, local_patient_id="ELSEWHERE-1")
    add_images(copy_case, other, seed=99, data=default_storage.open(copied.file.name).read())
    cases.append(accept(copy_case))
    return {"cases": cases, "copy_of": (cases[5], copy_case)}


@pytest.fixture
def curator():
    return make_user_with_role(Role.CURATOR)


def build(curator, version="1.0.0", seed=11, slug="cervix", **definition):
    release = Release.objects.filter(slug=slug).first() or releases.create_release(
        slug=slug, title="Cervix images", actor=curator
    )
    row = releases.define_version(
        release=release, actor=curator, version=version, description="Synthetic.",
        licence_name="CC BY-NC 4.0", citation="The bank.", seed=seed,
        label_names=["histology_cin2", "tz_type"], **definition,
    )  # fmt: skip
    return releases.build_now(row, actor=curator)


def read_manifest(version) -> pd.DataFrame:
    return manifest.read_manifest_csv(io.BytesIO(releases.read_file(version, "manifest.csv")))


def split_of_case(version) -> dict[int, str]:
    return dict(ReleaseImage.objects.filter(version=version).values_list("source_case_id", "split"))


def test_a_build_keeps_subjects_and_duplicates_in_one_split(bank, curator):
    version = build(curator)
    assert version.state == ReleaseState.BUILT
    assert version.image_count == 25 * 3
    splits_of = split_of_case(version)
    frame = read_manifest(version)
    assert set(frame["split"]) <= {"train", "validation", "test"}
    # Every subject in one split.
    per_subject = frame.groupby("subject")["split"].nunique()
    assert (per_subject == 1).all()
    # The copy at the other site follows its original, across subjects and sites.
    original, copy = bank["copy_of"]
    assert splits_of[original.pk] == splits_of[copy.pk]
    assert version.stats["linked_pairs"] >= 1
    # Neutral paths and codes only: no patient id, file name or bank id.
    text = releases.read_file(version, "manifest.csv").decode()
    assert "PATIENT" not in text and "ELSEWHERE" not in text
    for path in frame["path"]:
        parts = path.split("/")
        assert parts[0] == "images" and parts[1] in {"train", "validation", "test"}
        assert parts[3].split("-")[0] in {"before_acetic_acid", "after_acetic_acid", "after_lugol"}


def test_test_labels_are_sequestered(bank, curator):
    version = build(curator, fractions=[0.5, 0.2, 0.3])
    frame = read_manifest(version)
    test_rows = frame[frame["split"] == "test"]
    assert len(test_rows) > 0
    assert test_rows["histology_cin2"].isna().all() and test_rows["tz_type"].isna().all()
    parquet = pd.read_parquet(io.BytesIO(releases.read_file(version, "manifest.parquet")))
    assert parquet[parquet["split"] == "test"]["tz_type"].isna().all()
    train = frame[frame["split"] == "train"]
    assert train["tz_type"].notna().all()
    assert (
        ReleaseImage.objects.filter(version=version, split="test").exclude(labels={}).count() == 0
    )
    sequestered = SequesteredLabel.objects.filter(version=version)
    assert sequestered.count() == len(test_rows) * 2
    assert set(sequestered.values_list("image_id", flat=True)) == set(test_rows["image_id"])
    for path in ("croissant.json", "datasheet.md"):
        text = releases.read_file(version, path).decode()
        for image_id in test_rows["image_id"]:
            row = sequestered.filter(image_id=image_id, label="tz_type").get()
            assert f"{image_id}" not in text or row.value not in text.split(image_id)[1][:80]


def test_the_same_definition_and_seed_give_the_same_files(bank, curator):
    first = build(curator, version="1.0.0", seed=5)
    second = build(curator, version="1.0.1", seed=5)
    for path in ("manifest.csv", "manifest.parquet"):
        assert releases.read_file(first, path) == releases.read_file(second, path)
    other = build(curator, version="1.0.2", seed=6)
    assert set(split_of_case(other)) == set(split_of_case(first))  # the same cases
    # Image ids are stable across versions of one release, and differ between releases.
    ids = set(ReleaseImage.objects.filter(version=first).values_list("image_id", flat=True))
    assert ids == set(
        ReleaseImage.objects.filter(version=second).values_list("image_id", flat=True)
    )
    elsewhere = build(curator, version="1.0.0", seed=5, slug="another")
    assert not ids & set(
        ReleaseImage.objects.filter(version=elsewhere).values_list("image_id", flat=True)
    )


def test_croissant_metadata_loads_with_mlcroissant(bank, curator, tmp_path):
    version = releases.publish(build(curator), actor=curator)
    out = tmp_path / "export"
    call_command("export_release", f"cervix@{version.version}", "--out", str(out))
    dataset = mlcroissant.Dataset(jsonld=str(out / "croissant.json"))
    records = list(dataset.records("images"))
    assert len(records) == version.image_count
    frame = read_manifest(version)
    for path in frame["path"]:
        assert (out / path).is_file()
    for name in (
        "manifest.csv",
        "manifest.parquet",
        "datasheet.md",
        "LICENSE.txt",
        "AGREEMENT.txt",
    ):
        assert (out / name).is_file()
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_release", f"cervix@{version.version}", "--out", str(out))


def test_a_published_version_is_read_only_and_audited(bank, curator):
    version = releases.publish(build(curator), actor=curator)
    assert version.state == ReleaseState.PUBLISHED and version.published_at
    with pytest.raises(PublishedReadOnly):
        version.description = "Changed after publication"
        version.save()
    with pytest.raises(Exception, match="cannot be"):
        releases.queue_build(version, actor=curator)
    out = io.StringIO()
    call_command("audit_release", "cervix@1.0.0", stdout=out)
    assert "0 missing, 0 changed" in out.getvalue()
    # A stored image changed behind the bank's back.
    row = ReleaseImage.objects.filter(version=version).select_related("blob").first()
    key = row.blob.storage_key
    original = default_storage.open(key).read()
    default_storage.delete(key)  # local folder or S3 alike: the same key, other bytes
    assert default_storage.save(key, ContentFile(original + b"tampered")) == key
    try:
        with pytest.raises(CommandError, match="1 changed"):
            call_command("audit_release", "cervix@1.0.0", stdout=io.StringIO())
        assert version.audits.first().changed == [row.path]
    finally:  # S3 is shared by the whole run: leave the object as it was
        default_storage.delete(key)
        default_storage.save(key, ContentFile(original))


def test_a_stored_object_changed_behind_the_banks_back_is_replaced_by_the_next_build(bank, curator):
    """A content-addressed object with no blob row (a build that did not commit left it, or
    someone changed it) is trusted only if it still hashes to its key."""
    first = build(curator)
    row = ReleaseImage.objects.filter(version=first).select_related("blob").first()
    key, sha = row.blob.storage_key, row.sha256
    original = default_storage.open(key).read()
    ReleaseImage.objects.filter(version=first).delete()  # a built, unpublished version
    from curation.models import ReleaseBlob, ReleaseFile

    ReleaseFile.objects.filter(version=first).delete()
    ReleaseBlob.objects.filter(sha256=sha).delete()
    default_storage.delete(key)
    default_storage.save(key, ContentFile(original + b"changed"))
    second = build(curator, version="1.0.1")
    assert default_storage.open(key).read() == original
    assert releases.audit_version(second).ok


def test_a_new_version_has_a_changelog(bank, curator):
    first = releases.publish(build(curator), actor=curator)
    site = bank["cases"][0].site
    contributor = make_contributor(site)
    late = make_case(site=site, actor=contributor, local_patient_id="LATE-1")
    add_images(late, contributor, seed=70)
    accept(late)
    second = build(curator, version="1.1.0", selection={"sites": ["north"]})
    kinds = {change.kind for change in second.changes.all()}
    assert ChangeKind.ADDED in kinds and ChangeKind.REMOVED in kinds
    removed = second.changes.filter(kind=ChangeKind.REMOVED).first()
    assert "selection" in removed.why  # the copy at the other site is outside north
    added = second.changes.get(kind=ChangeKind.ADDED)
    assert added.case_code in set(read_manifest(second)["case"])
    assert first.state == ReleaseState.PUBLISHED
    assert [c["kind"] for c in second.stats["changelog"]] == ["added", "removed"]


def test_a_corrected_label_is_in_the_changelog_without_its_values(bank, curator):
    first = releases.publish(build(curator), actor=curator)
    case = bank["cases"][0]
    was = case.transformation_zone
    now = next(tz for tz in TZ if tz != was)
    # A curator's correction of an accepted case (the field's own service is issue 11's).
    Case.objects.filter(pk=case.pk).update(transformation_zone=now)
    second = build(curator, version="1.0.1")
    change = second.changes.get(kind=ChangeKind.RELABELLED)
    assert change.why == "labels corrected: tz_type"
    assert was not in change.why and now not in change.why
    assert (
        change.case_code
        == ReleaseImage.objects.filter(version=first, source_case_id=case.pk).values_list(
            "case_code", flat=True
        )[0]
    )


def test_create_release_command_builds_and_prints_counts(bank, curator):
    out = io.StringIO()
    call_command(
        "create_release", "bank", "--title", "The bank", "--version", "1.0.0",
        "--labels", "tz_type", "--splits", "0.6,0.2,0.2", "--seed", "3", "--json", stdout=out,
    )  # fmt: skip
    counts = json.loads(out.getvalue())
    assert counts["state"] == "built" and counts["images"] == 75 and counts["seed"] == 3
    assert sum(split["cases"] for split in counts["splits"].values()) == 25
    with pytest.raises(CommandError, match="fractions|sum"):
        call_command("create_release", "bank", "--version", "1.0.1", "--splits", "0.5,0.2,0.2")
    with pytest.raises(CommandError, match="version"):
        call_command("create_release", "bank", "--version", "1.0")
    out = io.StringIO()
    call_command("create_release", "bank", "--version", "1.1.0", "--site", "south", "--publish",
                 stdout=out)  # fmt: skip
    assert "published, 3 images" in out.getvalue()


def test_an_empty_selection_fails_the_build_with_the_reason(bank, curator):
    with pytest.raises(Exception, match="no accepted case"):
        build(curator, selection={"sites": ["nowhere"]})
    version = Release.objects.get(slug="cervix").versions.get()
    assert version.state == ReleaseState.FAILED and "no accepted case" in version.build_error


def test_publishing_tells_the_apps_above_after_the_commit(
    bank, curator, django_capture_on_commit_callbacks
):
    from curation import hooks

    heard = []

    def listener(sender, version, **kwargs):
        heard.append(version.pk)

    hooks.release_published.connect(listener, dispatch_uid="test-listener")
    try:
        version = build(curator)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            releases.publish(version, actor=curator)
        assert heard == []  # not before the commit
        for callback in callbacks:
            callback()
        assert heard == [version.pk]
    finally:
        hooks.release_published.disconnect(dispatch_uid="test-listener")


def test_the_check_counts_are_those_of_the_latest_results(bank, curator):
    """The build's counts of check verdicts (its own index-friendly query) agree with
    curation.selectors.latest_results, the bank's definition of a check's current result."""
    from collections import Counter
    from datetime import timedelta

    from curation.models import CheckResult
    from curation.selectors import latest_results

    images = [image for case in bank["cases"] for image in case.images.all()]
    image_ids = [image.pk for image in images]
    for n, image in enumerate(images):
        CheckResult.objects.create(
            case_id=image.case_id, image_id=image.pk, check_name="focus", version="3",
            verdict=("pass", "warn", "fail")[n % 3],
        )  # fmt: skip
        if n % 5 == 0:  # an older version's result, replaced by the one above
            old = CheckResult.objects.create(
                case_id=image.case_id, image_id=image.pk, check_name="focus", version="2",
                verdict="error",
            )  # fmt: skip
            CheckResult.objects.filter(pk=old.pk).update(
                checked_at=old.checked_at - timedelta(days=1)
            )
    version = build(curator)
    expected = Counter(
        latest_results(CheckResult.objects.filter(image_id__in=image_ids)).values_list(
            "check_name", "verdict"
        )
    )
    found = Counter(
        {(name, verdict): n for name, cells in version.stats["checks"].items()
         for verdict, n in cells.items() if n}
    )  # fmt: skip
    assert found == expected and sum(expected.values()) == len(images)
    assert ("focus", "error") not in found
