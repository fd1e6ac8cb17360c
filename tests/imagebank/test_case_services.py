"""The case services: who may write, what they accept and what they audit (the lifecycle:
test_case_transitions.py)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from imagebank.lifecycle import CaseState
from imagebank.models import CODED_FIELDS, Case, CaseEvent, Subject
from imagebank.services import cases as case_services
from imagebank.services.cases import DERIVED_FIELDS, update_case
from tests.factories import (
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.imagebank.case_support import (
    create,
    field_errors,
    kinds,
    processed_draft,
    submit_through_checks,
)
from tests.roles import Role

# Five components worth 1 + 2 + 0 + 1 + 2 = 6 points.
SWEDE_SIX = {
    "swede_aceto_uptake": "shady_milky",
    "swede_margins": "sharp_even",
    "swede_vessels": "fine_regular",
    "swede_lesion_size": "5_15mm",
    "swede_iodine_uptake": "distinct_yellow",
}


@pytest.fixture
def processed_case(site, contributor):
    return processed_draft(site, contributor)


# --- create_case: who may --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_contributor_creates_a_draft_with_a_created_event(site, contributor):
    case = create(site, contributor, age_at_exam=34, cytology="hsil")
    case.refresh_from_db()
    assert case.state == CaseState.DRAFT
    assert case.site == site
    assert case.created_by == contributor
    assert case.age_at_exam == 34
    assert case.cytology == "hsil"
    assert case.submitted_at is None
    event = CaseEvent.objects.get(case=case)
    assert event.kind == CaseEvent.Kind.CREATED
    assert event.actor == contributor
    assert event.to_state == CaseState.DRAFT


def _other_site_contributor(site):
    return make_contributor(make_site())


def _reviewer(site):
    return make_user_with_role(Role.REVIEWER)


def _curator(site):
    return make_user_with_role(Role.CURATOR)


def _inactive_contributor(site):
    user = make_contributor(site)
    user.is_active = False
    user.save()
    return user


def _anonymous(site):
    return AnonymousUser()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_actor",
    [_other_site_contributor, _reviewer, _curator, _inactive_contributor, _anonymous],
    ids=lambda f: f.__name__.strip("_"),
)
def test_create_case_needs_contribute_permission_on_the_site(site, make_actor):
    actor = make_actor(site)
    with pytest.raises(PermissionDenied):
        case_services.create_case(site=site, actor=actor, local_patient_id="REG-1")
    assert not Case.objects.exists()
    assert not Subject.objects.exists()


@pytest.mark.django_db
def test_the_histopathology_grade_follows_the_diagnosis_and_cannot_be_given(site, contributor):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, histopathology_grade="cancer")
    assert "histopathology_grade" in field_errors(raised)
    case = create(site, contributor, histopathology="cin3")
    assert case.histopathology_grade == "hsil_cin3"
    case = update_case(case=case, actor=contributor, values={"histopathology": "not_done"})
    assert case.histopathology_grade == "not_done"
    assert case.events.last().changes["histopathology_grade"] == {
        "from": "hsil_cin3",
        "to": "not_done",
    }


@pytest.mark.django_db
def test_a_superuser_may_contribute_anywhere(site):
    from imagebank.models import User

    admin = User.objects.create_superuser("admin@example.org", "pw")
    case = create(site, admin)
    assert case.created_by == admin


# --- create_case: what it accepts ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("field", sorted(set(CODED_FIELDS) - set(DERIVED_FIELDS)))
def test_an_unknown_code_is_refused_naming_the_field(site, contributor, field):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, **{field: "not-a-code"})
    assert field in field_errors(raised)
    assert "not-a-code" in " ".join(field_errors(raised)[field])
    assert not Case.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("value", [5, 2.5, True], ids=repr)
def test_a_code_that_is_not_a_string_is_refused(site, contributor, value):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, cytology=value)
    assert "cytology" in field_errors(raised)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [["hsil"], {"code": "hsil"}], ids=["list", "dict"])
def test_an_unhashable_code_is_refused_naming_the_field(site, contributor, value):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, cytology=value)
    assert "cytology" in field_errors(raised)


@pytest.mark.django_db
def test_a_label_is_not_a_code(site, contributor):
    # Free text must go through Vocabulary.lookup first; the service stores codes only.
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, transformation_zone="Type 1")
    assert "transformation_zone" in field_errors(raised)


@pytest.mark.django_db
def test_blank_and_none_codes_mean_not_given(site, contributor):
    case = create(site, contributor, cytology=None, hpv_result="")
    assert case.cytology == ""
    assert case.hpv_result == ""


@pytest.mark.django_db
def test_unknown_fields_are_refused_by_name_together_with_bad_codes(site, contributor):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, favourite_colour="blue", state="accepted", cytology="nope")
    errors = field_errors(raised)
    assert {"favourite_colour", "state", "cytology"} <= set(errors)
    assert not Case.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("age_at_exam", 5), ("age_at_exam", 101), ("exam_year", 1980), ("lesion_quadrants", 5)],
)
def test_out_of_range_numbers_are_refused_naming_the_field(site, contributor, field, value):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, **{field: value})
    assert field in field_errors(raised)
    assert not Case.objects.exists()
    assert not Subject.objects.exists(), "a refused case left its subject behind"


@pytest.mark.django_db
def test_findings_lists_are_validated_and_deduplicated(site, contributor):
    case = create(
        site,
        contributor,
        grade_1_findings=["fine_mosaic", "thin_acetowhite", "fine_mosaic"],
        miscellaneous_findings=["polyp_endocervical"],
    )
    case.refresh_from_db()
    assert case.grade_1_findings == ["fine_mosaic", "thin_acetowhite"]
    assert case.miscellaneous_findings == ["polyp_endocervical"]
    assert case.grade_2_findings == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value",
    [
        ["dense_acetowhite"],  # a grade 2 code in the grade 1 list
        ["fine_mosaic", "nope"],
        "fine_mosaic",
        [1, 2],
        {"fine_mosaic": True},
    ],
    ids=["other-list", "unknown", "string", "ints", "dict"],
)
def test_a_bad_findings_list_is_refused_naming_the_field(site, contributor, value):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, grade_1_findings=value)
    assert list(field_errors(raised)) == ["grade_1_findings"]


@pytest.mark.django_db
def test_clock_positions_are_sorted_and_deduplicated(site, contributor):
    case = create(site, contributor, lesion_clock_positions=[12, 3, 3, 1])
    case.refresh_from_db()
    assert case.lesion_clock_positions == [1, 3, 12]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value", [[0], [13], [-1], [True], ["3"], [3.0], "3", 3], ids=lambda v: repr(v)
)
def test_clock_positions_must_be_hours_one_to_twelve(site, contributor, value):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, lesion_clock_positions=value)
    assert "lesion_clock_positions" in field_errors(raised)


@pytest.mark.django_db
def test_swede_total_is_computed_from_its_components(site, contributor):
    case = create(site, contributor, **SWEDE_SIX)
    case.refresh_from_db()
    assert case.swede_total == 6
    assert case.swede_points() == 6


@pytest.mark.django_db
def test_a_matching_swede_total_is_accepted(site, contributor):
    assert create(site, contributor, swede_total=6, **SWEDE_SIX).swede_total == 6


@pytest.mark.django_db
def test_a_swede_total_that_disagrees_with_its_components_is_refused(site, contributor):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, swede_total=7, **SWEDE_SIX)
    assert "swede_total" in field_errors(raised)
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_a_swede_total_without_all_components_is_kept(site, contributor):
    case = create(site, contributor, swede_total=4, swede_vessels="absent")
    assert case.swede_total == 4


@pytest.mark.django_db
def test_a_swede_total_over_ten_is_refused(site, contributor):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, swede_total=11)
    assert "swede_total" in field_errors(raised)


@pytest.mark.django_db
def test_not_assessable_clears_the_swede_total(site, contributor):
    case = create(site, contributor, swede_total=5, swede_not_assessable=True)
    case.refresh_from_db()
    assert case.swede_not_assessable is True
    assert case.swede_total is None
    with_components = create(site, contributor, swede_not_assessable=True, **SWEDE_SIX)
    assert with_components.swede_total is None


@pytest.mark.django_db
@pytest.mark.parametrize("adequacy", ["adequate", ""])
def test_an_inadequacy_reason_needs_an_inadequate_examination(site, contributor, adequacy):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, adequacy=adequacy, inadequacy_reason="bleeding")
    assert "inadequacy_reason" in field_errors(raised)
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_an_inadequate_examination_may_give_its_reason(site, contributor):
    case = create(site, contributor, adequacy="inadequate", inadequacy_reason="bleeding")
    assert case.inadequacy_reason == "bleeding"


# --- update_case ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_update_audits_each_changed_field_with_from_and_to(site, contributor):
    case = create(site, contributor, age_at_exam=30, cytology="lsil")
    case_services.update_case(
        case=case,
        actor=contributor,
        values={"age_at_exam": 31, "cytology": "lsil", "hpv_result": "positive"},
        reason="typo in the register",
    )
    case.refresh_from_db()
    assert (case.age_at_exam, case.cytology, case.hpv_result) == (31, "lsil", "positive")
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.EDITED)
    assert event.actor == contributor
    assert event.reason == "typo in the register"
    assert event.changes == {
        "age_at_exam": {"from": 30, "to": 31},
        "hpv_result": {"from": "", "to": "positive"},
    }


@pytest.mark.django_db
def test_update_audits_list_fields(site, contributor):
    case = create(site, contributor, grade_1_findings=["fine_mosaic"])
    case_services.update_case(
        case=case,
        actor=contributor,
        values={"grade_1_findings": ["fine_mosaic", "fine_punctation", "fine_mosaic"]},
    )
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.EDITED)
    assert event.changes == {
        "grade_1_findings": {"from": ["fine_mosaic"], "to": ["fine_mosaic", "fine_punctation"]}
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "values",
    [
        {},
        {"age_at_exam": 30},
        {"cytology": "lsil", "lesion_clock_positions": [3, 3]},
        {"hpv_result": None},
    ],
    ids=["nothing", "same-age", "same-after-cleaning", "blank-as-none"],
)
def test_update_without_a_change_records_nothing(site, contributor, values):
    case = create(site, contributor, age_at_exam=30, cytology="lsil", lesion_clock_positions=[3])
    updated_at = Case.objects.get(pk=case.pk).updated_at
    case_services.update_case(case=case, actor=contributor, values=values)
    assert kinds(case) == [CaseEvent.Kind.CREATED]
    assert Case.objects.get(pk=case.pk).updated_at == updated_at


@pytest.mark.django_db
def test_a_refused_update_changes_nothing(site, contributor):
    case = create(site, contributor, age_at_exam=30)
    with pytest.raises(ValidationError) as raised:
        case_services.update_case(
            case=case, actor=contributor, values={"age_at_exam": 31, "cytology": "nope"}
        )
    assert "cytology" in field_errors(raised)
    case.refresh_from_db()
    assert case.age_at_exam == 30
    assert kinds(case) == [CaseEvent.Kind.CREATED]


@pytest.mark.django_db
def test_update_refuses_an_inconsistent_swede_total(site, contributor):
    case = create(site, contributor, **SWEDE_SIX)
    with pytest.raises(ValidationError) as raised:
        case_services.update_case(case=case, actor=contributor, values={"swede_total": 9})
    assert "swede_total" in field_errors(raised)
    case.refresh_from_db()
    assert case.swede_total == 6


@pytest.mark.django_db
def test_changing_a_swede_component_recomputes_a_derived_total(site, contributor):
    case = create(site, contributor, **SWEDE_SIX)
    case_services.update_case(
        case=case, actor=contributor, values={"swede_vessels": "coarse_or_atypical"}
    )
    case.refresh_from_db()
    assert case.swede_total == 8


@pytest.mark.django_db
def test_a_total_cleared_by_not_assessable_is_audited(site, contributor):
    case = create(site, contributor, swede_total=5)
    case_services.update_case(case=case, actor=contributor, values={"swede_not_assessable": True})
    case.refresh_from_db()
    assert case.swede_total is None
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.EDITED)
    assert event.changes.get("swede_total") == {"from": 5, "to": None}


@pytest.mark.django_db
def test_another_sites_contributor_cannot_update(site, contributor):
    case = create(site, contributor, age_at_exam=30)
    stranger = make_contributor(make_site())
    with pytest.raises(PermissionDenied):
        case_services.update_case(case=case, actor=stranger, values={"age_at_exam": 40})
    case.refresh_from_db()
    assert case.age_at_exam == 30


@pytest.mark.django_db
def test_edits_are_refused_once_submitted_and_allowed_again_when_returned(
    processed_case, contributor, django_capture_on_commit_callbacks
):
    case = submit_through_checks(processed_case, contributor, django_capture_on_commit_callbacks)
    assert case.state == CaseState.IN_REVIEW
    with pytest.raises(PermissionDenied):
        case_services.update_case(case=case, actor=contributor, values={"age_at_exam": 40})

    reviewer = make_user_with_role(Role.REVIEWER)
    case_services.transition_case(
        case=case, to_state=CaseState.RETURNED, actor=reviewer, reason="Give the cytology."
    )
    case_services.update_case(case=case, actor=contributor, values={"cytology": "hsil"})
    case.refresh_from_db()
    assert case.cytology == "hsil"
    assert kinds(case)[-1] == CaseEvent.Kind.EDITED


@pytest.mark.django_db
def test_edits_are_refused_in_a_submitted_case_whose_checks_have_not_run(
    processed_case, contributor
):
    case = case_services.submit_case(case=processed_case, actor=contributor)
    assert case.state == CaseState.SUBMITTED
    with pytest.raises(PermissionDenied):
        case_services.update_case(case=case, actor=contributor, values={"age_at_exam": 40})
