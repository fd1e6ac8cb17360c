"""A site permission remembered for one unit of work (an import's case), and only for it.

Imports check the actor's right on the site before each case and twice for every image; within
`site_permissions_remembered` the guardian query runs once. What must not change: deny by
default, one user's right never lets another in, the case's state is read each time, and a
right revoked counts from the next block (the next case, the next import).
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fixtures.synthetic_cervix import render_jpeg
from imagebank.ingest.items import CaseItem, ImageItem
from imagebank.ingest.report import IngestReport, Outcome
from imagebank.ingest.runs import run_ingest
from imagebank.ingest.writer import write_case
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image
from imagebank.permissions import can_contribute_to, can_edit_case, site_permissions_remembered
from imagebank.services.sites import remove_site_member
from tests.factories import UserFactory, make_case, make_site

pytestmark = pytest.mark.django_db

# The guardian lookup behind every site permission reads the user's object-permission table.
PERMISSION_TABLE = "siteuserobjectpermission"


def permission_queries(queries) -> int:
    return sum(PERMISSION_TABLE in query["sql"] for query in queries)


def test_within_a_block_the_right_is_looked_up_once(site, contributor):
    with CaptureQueriesContext(connection) as queries, site_permissions_remembered():
        assert all(can_contribute_to(contributor, site) for _ in range(5))
    assert permission_queries(queries) == 1


def test_outside_a_block_every_check_asks_the_database(site, contributor):
    with CaptureQueriesContext(connection) as queries:
        assert can_contribute_to(contributor, site)
        assert can_contribute_to(contributor, site)
    assert permission_queries(queries) == 2


def test_a_right_revoked_counts_from_the_next_block(site, contributor):
    with site_permissions_remembered():
        assert can_contribute_to(contributor, site)
    remove_site_member(site=site, user=contributor)
    assert not can_contribute_to(contributor, site)
    with site_permissions_remembered():
        assert not can_contribute_to(contributor, site)


def test_one_users_right_does_not_let_another_in(site, contributor):
    stranger = UserFactory()
    with site_permissions_remembered():
        assert can_contribute_to(contributor, site)
        assert not can_contribute_to(stranger, site)
        assert can_contribute_to(contributor, site)


def test_a_right_on_one_site_is_not_a_right_on_another(site, contributor):
    other = make_site()
    with site_permissions_remembered():
        assert can_contribute_to(contributor, site)
        assert not can_contribute_to(contributor, other)


def test_a_refusal_is_remembered_as_a_refusal(site):
    stranger = UserFactory()
    with CaptureQueriesContext(connection) as queries, site_permissions_remembered():
        assert not can_contribute_to(stranger, site)
        assert not can_contribute_to(stranger, site)
    assert permission_queries(queries) == 1


def test_a_deactivated_user_is_refused_even_when_remembered(site, contributor):
    with site_permissions_remembered():
        assert can_contribute_to(contributor, site)
        contributor.is_active = False
        assert not can_contribute_to(contributor, site)


def test_a_nested_block_shares_the_outer_memory_which_ends_with_it(site, contributor):
    with site_permissions_remembered():
        assert can_contribute_to(contributor, site)
        with site_permissions_remembered():
            remove_site_member(site=site, user=contributor)
            assert can_contribute_to(contributor, site)  # remembered from the outer block
    assert not can_contribute_to(contributor, site)


def test_the_cases_state_is_read_each_time_not_remembered(site, contributor):
    case = make_case(site=site, actor=contributor)
    with site_permissions_remembered():
        assert can_edit_case(contributor, case)
        case.state = CaseState.SUBMITTED
        assert not can_edit_case(contributor, case)


# --- through the import writer ------------------------------------------------------------------


def item(number: int, images: int = 3) -> CaseItem:
    return CaseItem(
        reference=f"Case {number}",
        local_patient_id=f"P-{number}",
        images=[
            ImageItem(
                filename=f"{number}-{index}.jpg",
                read=lambda seed=number * 10 + index: render_jpeg(
                    "after_acetic_acid", seed=seed, size=(96, 72)
                ),
                step="after_acetic_acid",
            )
            for index in range(images)
        ],
    )


@pytest.mark.usefixtures("local_storage")
def test_an_imported_case_checks_the_right_once_for_all_its_images(site, contributor):
    with CaptureQueriesContext(connection) as queries:
        result = write_case(site=site, actor=contributor, item=item(1), report=IngestReport())
    assert (result.outcome, result.images_added) == (Outcome.CREATED, 3)
    assert permission_queries(queries) == 1


@pytest.mark.usefixtures("local_storage")
def test_a_contributor_revoked_between_two_cases_of_an_import_is_refused(site, contributor):
    report = IngestReport()
    write_case(site=site, actor=contributor, item=item(1), report=report)
    remove_site_member(site=site, user=contributor)
    with pytest.raises(PermissionDenied):
        write_case(site=site, actor=contributor, item=item(2), report=report)
    assert (Case.objects.count(), Image.objects.count()) == (1, 3)


@pytest.mark.usefixtures("local_storage")
def test_a_contributor_revoked_between_two_imports_is_refused(site, contributor, tmp_path):
    first, second = tmp_path / "a.jpg", tmp_path / "b.jpg"
    first.write_bytes(render_jpeg("after_acetic_acid", seed=1, size=(96, 72)))
    second.write_bytes(render_jpeg("after_acetic_acid", seed=2, size=(96, 72)))
    assert run_ingest(site=site, actor=contributor, paths=[first]).summary["images_added"] == 1
    remove_site_member(site=site, user=contributor)
    with pytest.raises(PermissionDenied):
        run_ingest(site=site, actor=contributor, paths=[second])
    assert Image.objects.count() == 1


@pytest.mark.usefixtures("local_storage")
def test_an_actor_without_the_right_stores_nothing_even_in_a_block(site):
    stranger = UserFactory()
    with pytest.raises(PermissionDenied), site_permissions_remembered():
        write_case(site=site, actor=stranger, item=item(1), report=IngestReport())
    assert not Case.objects.exists()
    assert not Image.objects.exists()
