import io

import pytest
from django.contrib.auth.models import Group
from django.core import serializers
from django.core.files.storage import default_storage
from django.core.management import call_command
from guardian.shortcuts import get_perms

from fixtures.demo_catalogue import CASES, DEMO_PASSWORD, SITES, demo_email
from imagebank import selectors
from imagebank.lifecycle import CaseState
from imagebank.models import (
    Case,
    CaseEvent,
    Image,
    ProcessingStatus,
    Site,
    SiteGroupObjectPermission,
    SiteMembership,
    Subject,
    User,
)
from imagebank.permissions import can_contribute_to
from imagebank.roles import has_role
from tests.roles import Role

pytestmark = pytest.mark.django_db


def load_demo() -> str:
    # imagebank's own part; what the apps above add is tested with them (model_bench's demo).
    out = io.StringIO()
    call_command("load_demo", "--core-only", stdout=out)
    return out.getvalue()


def demo_case(local_patient_id: str) -> Case:
    from imagebank.pseudonyms import pseudonym_for

    spec = next(spec for spec in CASES if spec.local_patient_id == local_patient_id)
    return Case.objects.get(
        site__slug=spec.site, subject__pseudonym=pseudonym_for(spec.site, local_patient_id)
    )


def test_creates_the_users_roles_and_sites():
    output = load_demo()

    assert "Created 3 sites, 8 users, 8 cases and 32 images" in output
    assert {group.name for group in Group.objects.all()} >= set(Role.values)
    for role, local_part in [
        (Role.REVIEWER, "reviewer"),
        (Role.CURATOR, "curator"),
        (Role.ACCESS_COMMITTEE, "committee"),
        (Role.RESEARCHER, "researcher"),
    ]:
        user = User.objects.get(email=demo_email(local_part))
        assert has_role(user, role)
        assert user.check_password(DEMO_PASSWORD)
        assert not user.is_staff
        assert demo_email(local_part) in output
    admin = User.objects.get(email=demo_email("admin"))
    assert admin.is_superuser and admin.is_staff and admin.check_password(DEMO_PASSWORD)

    assert sorted(Site.objects.values_list("country", flat=True)) == ["IN", "KE", "ZM"]
    for site in Site.objects.all():
        assert site.devices
        assert set(get_perms(site.contributors_group, site)) == {
            "contribute_to_site",
            "view_site_cases",
        }
    first, second = (Site.objects.get(slug=spec.slug) for spec in SITES[:2])
    contributor = User.objects.get(email=demo_email("contributor"))
    contributor2 = User.objects.get(email=demo_email("contributor2"))
    assert can_contribute_to(contributor, first) and not can_contribute_to(contributor, second)
    assert can_contribute_to(contributor2, second) and not can_contribute_to(contributor2, first)
    assert contributor.check_password(DEMO_PASSWORD)


def test_cases_are_in_their_states_with_consistent_metadata():
    load_demo()

    counts = selectors.case_counts_by_state(Case.objects.all())
    assert counts == {
        CaseState.DRAFT: 1,
        CaseState.IN_REVIEW: 2,
        CaseState.RETURNED: 1,
        CaseState.ACCEPTED: 3,
        CaseState.REJECTED: 1,
    }
    assert Case.objects.values("site").distinct().count() == 3

    reviewer = User.objects.get(email=demo_email("reviewer"))
    returned = Case.objects.get(state=CaseState.RETURNED)
    decision = returned.events.get(to_state=CaseState.RETURNED)
    assert decision.actor == reviewer and "Bleeding" in decision.reason
    accepted = Case.objects.filter(state=CaseState.ACCEPTED).first()
    # Every submitted case passed through the quality-check task (actor: the system).
    path = list(
        accepted.events.filter(kind=CaseEvent.Kind.TRANSITION).values_list("to_state", "actor")
    )
    assert [state for state, _ in path] == [
        CaseState.SUBMITTED,
        CaseState.QUALITY_CHECKS,
        CaseState.IN_REVIEW,
        CaseState.ACCEPTED,
    ]
    assert path[1][1] is None and path[2][1] is None and path[3][1] == reviewer.pk
    assert Case.objects.get(state=CaseState.DRAFT).submitted_at is None

    assert demo_case("KDH-2026-0001").swede_total == 0
    assert demo_case("KDH-2026-0001").via_result == "negative"
    lsil = demo_case("KDH-2026-0002")
    assert lsil.provisional_diagnosis == "lsil" and lsil.grade_1_findings
    assert 3 <= lsil.swede_total <= 4
    hsil = demo_case("TNSP-2026-0001")
    assert hsil.provisional_diagnosis == "hsil" and hsil.grade_2_findings
    assert 7 <= hsil.swede_total <= 8
    inadequate = demo_case("TNSP-2026-0002")
    assert inadequate.transformation_zone == "type_3" and inadequate.adequacy == "inadequate"
    assert inadequate.swede_not_assessable and inadequate.swede_total is None
    for case in Case.objects.all():
        case.full_clean()


def test_images_are_stored_and_processed_with_previews():
    load_demo()

    images = Image.objects.all()
    assert images.count() == 32
    assert not images.exclude(processing_status=ProcessingStatus.DONE).exists()
    for case in Case.objects.all():
        steps = list(case.images.order_by("display_order").values_list("step", flat=True))
        assert steps == ["before_acetic_acid", "after_acetic_acid", "green_filter", "after_lugol"]
    for image in images:
        assert (image.width, image.height) == (640, 480)
        assert default_storage.exists(image.file.name)
        assert default_storage.exists(image.preview.name)
        assert default_storage.exists(image.thumbnail.name)
    # Different seeds, different examinations: no two cases share a photograph.
    assert images.values("sha256").distinct().count() == 32


def test_local_patient_ids_are_not_stored():
    load_demo()

    stored = serializers.serialize(
        "json", [*Case.objects.all(), *Image.objects.all(), *Subject.objects.all()]
    )
    stored += serializers.serialize("json", CaseEvent.objects.all())
    for spec in CASES:
        assert spec.local_patient_id not in stored


def test_running_twice_creates_nothing_new():
    load_demo()
    models = [
        User,
        Group,
        Site,
        SiteMembership,
        SiteGroupObjectPermission,
        Subject,
        Case,
        CaseEvent,
        Image,
    ]
    before = {model: model.objects.count() for model in models}

    output = load_demo()

    assert "nothing created" in output
    assert demo_email("admin") in output and DEMO_PASSWORD in output
    assert {model: model.objects.count() for model in models} == before


def test_each_contributor_sees_only_their_sites_cases():
    load_demo()

    for spec in SITES:
        site = Site.objects.get(slug=spec.slug)
        contributor = site.memberships.get().user
        visible = selectors.cases_for_user(contributor)
        assert visible.count() == Case.objects.filter(site=site).count() > 0
        assert set(visible.values_list("site__slug", flat=True)) == {spec.slug}
    researcher = User.objects.get(email=demo_email("researcher"))
    assert not selectors.cases_for_user(researcher).exists()
    reviewer = User.objects.get(email=demo_email("reviewer"))
    assert set(selectors.cases_for_user(reviewer).values_list("state", flat=True)) == {
        CaseState.IN_REVIEW,
        CaseState.RETURNED,
        CaseState.ACCEPTED,
        CaseState.REJECTED,
    }
