"""A published release version cannot change: the models refuse it with a clear message, and the
database refuses it too (triggers, curation/release_triggers.py), even for bulk updates and raw
SQL. Runs on SQLite by default and on PostgreSQL in CI (DATABASE_URL)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from curation.models import (
    PublishedReadOnly,
    Release,
    ReleaseBlob,
    ReleaseChange,
    ReleaseFile,
    ReleaseImage,
    ReleaseState,
    ReleaseVersion,
    SequesteredLabel,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_version(state=ReleaseState.BUILT, version="1.0.0"):
    user = UserFactory()
    release, _ = Release.objects.get_or_create(
        slug="cervix-bank", defaults={"title": "Cervix bank", "created_by": user}
    )
    return ReleaseVersion.objects.create(
        release=release,
        version=version,
        state=state,
        description="A release.",
        licence_name="CC BY-NC 4.0",
        citation="The bank, 2026.",
        fractions=[0.7, 0.1, 0.2],
        seed=7,
        near_radius=6,
        created_by=user,
        published_at=timezone.now() if state == ReleaseState.PUBLISHED else None,
    )


def fill(version):
    blob = ReleaseBlob.objects.create(sha256="a" * 64, bytes=10, storage_key="releases/blobs/a")
    image = ReleaseImage.objects.create(
        version=version,
        image_id="i-1",
        path="images/train/c-1/after_acetic_acid-1.jpg",
        blob=blob,
        sha256=blob.sha256,
        bytes=10,
        case_code="c-1",
        subject_code="s-1",
        site="kisumu",
        step="after_acetic_acid",
        order=1,
        split="train",
        labels={"tz_type": "type_1"},
        source_image_id=1,
        source_case_id=1,
    )
    ReleaseFile.objects.create(
        version=version, path="manifest.csv", blob=blob, sha256=blob.sha256, bytes=10,
        encoding="text/csv",
    )  # fmt: skip
    SequesteredLabel.objects.create(
        version=version, image_id="i-2", case_code="c-2", label="tz_type", value="type_2"
    )
    ReleaseChange.objects.create(version=version, kind="added", case_code="c-1", why="new")
    return blob, image


def publish(version):
    ReleaseVersion.objects.filter(pk=version.pk).update(
        state=ReleaseState.PUBLISHED, published_at=timezone.now()
    )
    version.refresh_from_db()


def refused_by_the_database(statement):
    with pytest.raises(IntegrityError), transaction.atomic():
        statement()


def test_a_built_version_can_still_change_and_be_rebuilt():
    version = make_version()
    _, image = fill(version)
    image.split = "validation"
    image.save()
    version.description = "Rebuilt."
    version.save()
    ReleaseImage.objects.filter(version=version).delete()
    assert not version.images.exists()


def test_the_models_refuse_to_change_a_published_version():
    version = make_version()
    _, image = fill(version)
    publish(version)
    version.description = "Changed"
    with pytest.raises(PublishedReadOnly):
        version.save()
    with pytest.raises(PublishedReadOnly):
        version.delete()
    image.split = "test"
    with pytest.raises(PublishedReadOnly):
        image.save()
    with pytest.raises(PublishedReadOnly):
        image.delete()
    blob = ReleaseBlob.objects.get()
    with pytest.raises(PublishedReadOnly):
        blob.save()


def test_the_database_refuses_bulk_and_raw_changes_to_a_published_version():
    version = make_version()
    blob, image = fill(version)
    publish(version)
    for model in (ReleaseImage, ReleaseFile, SequesteredLabel, ReleaseChange):
        rows = model.objects.filter(version=version)
        refused_by_the_database(lambda rows=rows: rows.update(version=version))
        refused_by_the_database(lambda rows=rows: rows._raw_delete(rows.db))
    refused_by_the_database(
        lambda: ReleaseImage.objects.bulk_create(
            [
                ReleaseImage(
                    version=version, image_id="i-9", path="images/x.jpg", blob=blob,
                    sha256=blob.sha256, bytes=1, case_code="c-9", subject_code="s-9",
                    site="kisumu", step="after_lugol", order=1, split="train",
                    source_image_id=9, source_case_id=9,
                )
            ]
        )
    )  # fmt: skip
    refused_by_the_database(
        lambda: ReleaseVersion.objects.filter(pk=version.pk).update(description="Changed")
    )
    refused_by_the_database(
        lambda: ReleaseVersion.objects.filter(pk=version.pk).update(state=ReleaseState.BUILT)
    )

    def raw_delete():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM curation_releaseversion WHERE id = %s", [version.pk])

    refused_by_the_database(raw_delete)
    refused_by_the_database(lambda: ReleaseBlob.objects.filter(pk=blob.pk).update(bytes=11))
    image.refresh_from_db()
    assert image.split == "train" and version.images.count() == 1


def test_test_split_labels_cannot_sit_in_the_manifest_rows():
    version = make_version()
    blob, image = fill(version)
    image.split = "test"
    with pytest.raises(IntegrityError), transaction.atomic():
        image.save()


def test_a_version_is_a_semantic_version():
    with pytest.raises(Exception, match="semantic version"):
        make_version(version="1.0")
    version = make_version(version="2.10.3")
    assert (version.major, version.minor, version.patch) == (2, 10, 3)
