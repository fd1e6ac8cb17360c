"""A release build survives its worker being killed (kill -9) in the middle: the version stays
`building` with nothing of it written, the reconciler sends it again once the lease is over, and
the next worker builds it once (one row per image, no duplicates). On the real services (the
fault tests' own Redis, the suite's PostgreSQL and S3); "in the middle" is made exact: another
transaction holds, uncommitted, the stored-file row the build is about to insert."""

import psycopg
import pytest

from curation.models import ReleaseBlob, ReleaseImage, ReleaseState, ReleaseVersion
from curation.services import releases
from imagebank import reconcile
from imagebank.lifecycle import CaseState
from imagebank.services import cases as case_services
from tests.factories import (
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role
from tests.services.faults import wait_until
from tests.services.test_fault_tolerance import stack  # noqa: F401 - the fixture

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def accepted_cases(count: int) -> list:
    site = make_site()
    contributor = make_contributor(site)
    cases = []
    for n in range(count):
        case = make_case(site=site, actor=contributor)
        add_core_images(case, contributor, seed=n)
        for state in (CaseState.SUBMITTED, CaseState.QUALITY_CHECKS, CaseState.IN_REVIEW,
                      CaseState.ACCEPTED):  # fmt: skip
            case = case_services.transition_case(case=case, to_state=state)
        cases.append(case)
    return cases


def test_a_worker_killed_mid_build_leaves_the_version_to_be_built_once(stack, settings):  # noqa: F811
    cases = accepted_cases(4)
    curator = make_user_with_role(Role.CURATOR)
    release = releases.create_release(slug="faults", title="Fault test", actor=curator)
    version = releases.define_version(
        release=release, actor=curator, version="1.0.0", description="Killed mid-build.",
        licence_name="CC BY-NC 4.0", citation="The bank.", seed=1,
    )  # fmt: skip
    # The build stores the images' blobs in sha256 order; hold the last one's row.
    last = max(image.sha256 for case in cases for image in case.images.all())
    holder = psycopg.connect(**stack.database)
    holder.execute(
        "INSERT INTO curation_releaseblob (sha256, bytes, storage_key, created_at) "
        "VALUES (%s, 1, 'held', now())",
        (last,),
    )
    worker = stack.start_worker("solo")
    releases.queue_build(version, actor=curator)  # the task goes after this commit
    wait_until(stack.worker_waiting_on_a_lock, 90, "the build to reach the held blob")
    assert ReleaseVersion.objects.get(pk=version.pk).state == ReleaseState.BUILDING
    worker.kill()
    holder.rollback()
    holder.close()
    version.refresh_from_db()
    assert version.state == ReleaseState.BUILDING  # stuck, for now
    assert not ReleaseImage.objects.filter(version=version).exists()  # nothing half-written

    settings.RELEASE_BUILD_LEASE_SECONDS = 0  # the dead worker's lease has run out
    assert reconcile.reconcile_all()["release_builds"]["resumed"] == 1
    stack.start_worker("solo")
    wait_until(
        lambda: ReleaseVersion.objects.get(pk=version.pk).state == ReleaseState.BUILT,
        120,
        "the build",
    )
    version.refresh_from_db()
    assert version.build_attempts == 2
    rows = ReleaseImage.objects.filter(version=version)
    assert rows.count() == version.image_count == 12
    assert len(set(rows.values_list("image_id", flat=True))) == 12
    assert ReleaseBlob.objects.filter(sha256=last).count() == 1
    assert releases.audit_version(version).ok
