"""Who sees which cases and images: the visibility matrix, and the permission check agreeing."""

import hashlib

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from imagebank import selectors
from imagebank.lifecycle import SUBMITTED_STATES, CaseState
from imagebank.models import Case, Image, User
from imagebank.permissions import can_view_case
from imagebank.services import sites as site_services
from tests.factories import UserFactory, make_case, make_contributor, make_site, make_user_with_role
from tests.roles import Role


def _image_row(case, n: int) -> Image:
    digest = hashlib.sha256(f"image-{n}".encode()).hexdigest()
    return Image.objects.create(
        case=case,
        step="after_acetic_acid",
        display_order=1,
        source_format="jpeg",
        file=f"images/{digest[:2]}/{digest[2:4]}/{digest}.jpg",
        content_type="image/jpeg",
        byte_size=1,
        sha256=digest,
        uploaded_by=case.created_by,
    )


@pytest.fixture
def bank():
    """Two sites, each with a contributor and one case in every state, each case with an image."""
    world = {"cases": {}}
    n = 0
    for name in ("a", "b"):
        site = make_site()
        contributor = make_contributor(site)
        world[name] = {"site": site, "contributor": contributor}
        for state in CaseState:
            case = make_case(site=site, actor=contributor)
            if state != CaseState.DRAFT:
                # Arranged directly: the lifecycle itself is tested elsewhere.
                Case.objects.filter(pk=case.pk).update(state=state, submitted_at=timezone.now())
            n += 1
            _image_row(case, n)
            world["cases"][(name, state)] = case.pk
    return world


@pytest.fixture
def matrix(bank):
    return bank


def visible(matrix, user) -> set[tuple[str, str]]:
    by_pk = {pk: key for key, pk in matrix["cases"].items()}
    return {by_pk[pk] for pk in selectors.cases_for_user(user).values_list("pk", flat=True)}


def keys(site: str, states) -> set[tuple[str, str]]:
    return {(site, state) for state in states}


ALL = keys("a", CaseState) | keys("b", CaseState)


@pytest.mark.django_db
def test_a_contributor_sees_every_state_of_their_own_sites_cases_only(matrix):
    assert visible(matrix, matrix["a"]["contributor"]) == keys("a", CaseState)
    assert visible(matrix, matrix["b"]["contributor"]) == keys("b", CaseState)


@pytest.mark.django_db
def test_a_reviewer_sees_every_submitted_case_but_no_draft(matrix):
    reviewer = make_user_with_role(Role.REVIEWER)
    assert visible(matrix, reviewer) == keys("a", SUBMITTED_STATES) | keys("b", SUBMITTED_STATES)


@pytest.mark.django_db
def test_a_reviewer_who_also_contributes_sees_their_own_drafts(matrix):
    reviewer = make_user_with_role(Role.REVIEWER)
    site_services.add_site_member(site=matrix["a"]["site"], user=reviewer)
    assert visible(matrix, reviewer) == keys("a", CaseState) | keys("b", SUBMITTED_STATES)


@pytest.mark.django_db
def test_a_curator_and_a_superuser_see_everything(matrix):
    assert visible(matrix, make_user_with_role(Role.CURATOR)) == ALL
    assert visible(matrix, User.objects.create_superuser("root@example.org", "pw")) == ALL


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.ACCESS_COMMITTEE])
def test_other_bank_roles_see_no_cases(matrix, role):
    assert visible(matrix, make_user_with_role(role)) == set()


@pytest.mark.django_db
def test_anonymous_and_roleless_users_see_nothing(matrix):
    assert visible(matrix, AnonymousUser()) == set()
    assert visible(matrix, UserFactory()) == set()
    assert not selectors.images_for_user(AnonymousUser()).exists()
    assert not selectors.images_for_user(UserFactory()).exists()


@pytest.mark.django_db
def test_an_inactive_contributor_or_curator_sees_nothing(matrix):
    contributor = matrix["a"]["contributor"]
    curator = make_user_with_role(Role.CURATOR)
    for user in (contributor, curator):
        user.is_active = False
        user.save()
        assert visible(matrix, user) == set()


@pytest.mark.django_db
def test_a_contributor_who_leaves_the_site_no_longer_sees_it(matrix):
    contributor = matrix["a"]["contributor"]
    site_services.remove_site_member(site=matrix["a"]["site"], user=contributor)
    assert visible(matrix, contributor) == set()


def _users(matrix):
    return {
        "contributor-a": matrix["a"]["contributor"],
        "contributor-b": matrix["b"]["contributor"],
        "reviewer": make_user_with_role(Role.REVIEWER),
        "curator": make_user_with_role(Role.CURATOR),
        "researcher": make_user_with_role(Role.RESEARCHER),
        "nobody": UserFactory(),
        "anonymous": AnonymousUser(),
    }


@pytest.mark.django_db
def test_images_for_user_follow_the_cases(matrix):
    for name, user in _users(matrix).items():
        cases = set(selectors.cases_for_user(user).values_list("pk", flat=True))
        image_cases = set(selectors.images_for_user(user).values_list("case_id", flat=True))
        assert image_cases == cases, name


@pytest.mark.django_db
def test_can_view_case_agrees_with_the_selector(matrix):
    cases = list(Case.objects.all())
    for name, user in _users(matrix).items():
        listed = set(selectors.cases_for_user(user).values_list("pk", flat=True))
        allowed = {case.pk for case in cases if can_view_case(user, case)}
        assert allowed == listed, name


@pytest.mark.django_db
def test_case_detail_is_a_404_for_a_case_the_user_cannot_see(matrix):
    draft_b = matrix["cases"][("b", CaseState.DRAFT)]
    draft_a = matrix["cases"][("a", CaseState.DRAFT)]
    contributor = matrix["a"]["contributor"]
    assert selectors.case_detail(contributor, draft_a).pk == draft_a
    with pytest.raises(Http404):
        selectors.case_detail(contributor, draft_b)
    with pytest.raises(Http404):
        selectors.case_detail(make_user_with_role(Role.REVIEWER), draft_a)


@pytest.mark.django_db
def test_case_list_filters_and_counts(matrix):
    curator = make_user_with_role(Role.CURATOR)
    site_a = matrix["a"]["site"]
    listed = selectors.case_list(curator, site=site_a, state=CaseState.IN_REVIEW)
    assert [case.pk for case in listed] == [matrix["cases"][("a", CaseState.IN_REVIEW)]]
    assert listed[0].image_count == 1
    counts = selectors.case_counts_by_state(selectors.cases_for_user(curator))
    assert counts == {state.value: 2 for state in CaseState}
    own = selectors.case_counts_by_state(selectors.cases_for_user(matrix["a"]["contributor"]))
    assert own == {state.value: 1 for state in CaseState}


@pytest.mark.django_db
def test_case_list_cannot_widen_what_the_user_sees(matrix):
    contributor = matrix["a"]["contributor"]
    assert not selectors.case_list(contributor, site=matrix["b"]["site"]).exists()


@pytest.mark.django_db
def test_sites_for_user(matrix):
    site_a, site_b = matrix["a"]["site"], matrix["b"]["site"]
    assert set(selectors.sites_for_user(matrix["a"]["contributor"])) == {site_a}
    assert set(selectors.sites_for_user(make_user_with_role(Role.REVIEWER))) == {site_a, site_b}
    assert set(selectors.sites_for_user(make_user_with_role(Role.CURATOR))) == {site_a, site_b}
    assert not selectors.sites_for_user(AnonymousUser()).exists()
    assert not selectors.sites_for_user(UserFactory()).exists()


@pytest.mark.django_db
def test_an_inactive_contributor_sees_no_site(matrix):
    contributor = matrix["a"]["contributor"]
    contributor.is_active = False
    contributor.save()
    assert not selectors.sites_for_user(contributor).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.REVIEWER, Role.CURATOR])
def test_an_inactive_reviewer_or_curator_sees_no_site(matrix, role):
    user = make_user_with_role(role)
    user.is_active = False
    user.save()
    assert not selectors.sites_for_user(user).exists()


@pytest.mark.django_db
def test_contributable_sites_are_the_users_memberships_only(matrix):
    assert set(selectors.contributable_sites(matrix["a"]["contributor"])) == {matrix["a"]["site"]}
    assert not selectors.contributable_sites(make_user_with_role(Role.CURATOR)).exists()
    assert not selectors.contributable_sites(make_user_with_role(Role.REVIEWER)).exists()
    assert not selectors.contributable_sites(AnonymousUser()).exists()


@pytest.mark.django_db
def test_a_new_site_is_invisible_to_other_sites_contributors():
    contributor = make_contributor(make_site())
    other = make_site()
    make_case(site=other)
    assert not selectors.cases_for_user(contributor).filter(site=other).exists()
    assert other not in selectors.sites_for_user(contributor)
