"""Every CHECK constraint on a case has a service check in front of it.

The case services validate fields without Django's one-query-per-constraint validation (the
database enforces the constraints on save). So anything a contributor can send that a constraint
would refuse must be refused first by the services, with a ValidationError naming the field, and
never reach the database as an IntegrityError. A constraint added to the model without an entry
here fails the first test.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imagebank.models import CODED_FIELDS, Case, Subject
from imagebank.models.cases import ACETOWHITE_FEATURES
from imagebank.services import cases as case_services

ONE_CODE = {field: sorted(vocabulary.codes)[0] for field, vocabulary in CODED_FIELDS.items()}

# constraint -> inputs it would refuse, each with the field the services' error must name.
REFUSED = {
    # The state and its date are the lifecycle's, never given: both are refused as unknown.
    "case_state_valid": [({"state": "archived"}, "state")],
    "case_submitted_at_once_submitted": [
        ({"state": "submitted"}, "state"),
        ({"submitted_at": "2024-05-01T10:00:00Z"}, "submitted_at"),
    ],
    "case_age_in_range": [
        ({"age_at_exam": 9}, "age_at_exam"),
        ({"age_at_exam": 101}, "age_at_exam"),
    ],
    "case_swede_total_in_range": [({"swede_total": 11}, "swede_total")],
    "case_quadrants_in_range": [({"lesion_quadrants": 5}, "lesion_quadrants")],
    "case_inadequacy_reason_only_if_inadequate": [
        ({"inadequacy_reason": "scar"}, "inadequacy_reason"),
        ({"adequacy": "adequate", "inadequacy_reason": "bleeding"}, "inadequacy_reason"),
    ],
    "case_acetowhite_features_only_if_present": [
        ({"acetowhite_area": "absent", feature: ONE_CODE[feature]}, feature)
        for feature in ACETOWHITE_FEATURES
    ],
    # The consent basis and its attestation are recorded by imagebank.services.consent (the
    # `consent_attested` flag), never given as metadata: each is refused as unknown.
    "case_consent_basis_in_vocabulary": [({"consent_basis": "verbal"}, "consent_basis")],
    "case_consent_attestation_has_who_and_when": [
        ({"consent_basis": "attested"}, "consent_basis"),
        ({"consent_attested_at": "2024-05-01T10:00:00Z"}, "consent_attested_at"),
        ({"consent_attested_by": 1}, "consent_attested_by"),
    ],
    # The grade is derived from the diagnosis: giving it at all is refused.
    **{f"case_{field}_in_vocabulary": [({field: "not-a-code"}, field)] for field in CODED_FIELDS},
}
# constraint -> input the services put right instead of refusing, and what they store.
REPAIRED = {
    "case_swede_total_or_not_assessable": (
        {"swede_total": 3, "swede_not_assessable": True},
        {"swede_total": None, "swede_not_assessable": True},
    ),
}

REFUSALS = [
    pytest.param(values, field, id=f"{name}:{field}")
    for name, cases in REFUSED.items()
    for values, field in cases
]


def create(site, actor, **values) -> Case:
    return case_services.create_case(site=site, actor=actor, local_patient_id="P-1", **values)


def test_every_check_constraint_of_a_case_has_a_service_check():
    constraints = {constraint.name for constraint in Case._meta.constraints}
    assert constraints == set(REFUSED) | set(REPAIRED)


@pytest.mark.django_db
@pytest.mark.parametrize(("values", "field"), REFUSALS)
def test_create_refuses_what_a_constraint_would_naming_the_field(site, contributor, values, field):
    with pytest.raises(ValidationError) as raised:
        create(site, contributor, **values)
    assert field in raised.value.message_dict
    assert not Case.objects.exists()
    assert not Subject.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("values", "field"), REFUSALS)
def test_update_refuses_what_a_constraint_would_naming_the_field(site, contributor, values, field):
    case = create(site, contributor)
    with pytest.raises(ValidationError) as raised:
        case_services.update_case(case=case, actor=contributor, values=values)
    assert field in raised.value.message_dict
    stored = Case.objects.get(pk=case.pk)
    assert all(getattr(stored, name) in ("", None, False) for name in values if name != "state")
    assert stored.state == "draft"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("before", "change", "field"),
    [
        # The other half of a pair changes, leaving the half already stored inconsistent.
        (
            {"adequacy": "inadequate", "inadequacy_reason": "bleeding"},
            {"adequacy": "adequate"},
            "inadequacy_reason",
        ),
        (
            {"acetowhite_area": "present", "acetowhite_colour": "dense"},
            {"acetowhite_area": "absent"},
            "acetowhite_colour",
        ),
    ],
    ids=["inadequacy_reason", "acetowhite_feature"],
)
def test_an_update_that_breaks_a_pair_already_stored_is_refused(
    site, contributor, before, change, field
):
    case = create(site, contributor, **before)
    with pytest.raises(ValidationError) as raised:
        case_services.update_case(case=case, actor=contributor, values=change)
    assert field in raised.value.message_dict
    stored = Case.objects.get(pk=case.pk)
    assert {name: getattr(stored, name) for name in before} == before


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["create", "update"])
def test_a_total_with_not_assessable_is_put_right_not_refused(site, contributor, path):
    (values, stored_values) = REPAIRED["case_swede_total_or_not_assessable"]
    if path == "create":
        case = create(site, contributor, **values)
    else:
        case = create(site, contributor, swede_total=3)
        case_services.update_case(case=case, actor=contributor, values=values)
    stored = Case.objects.get(pk=case.pk)
    assert {name: getattr(stored, name) for name in stored_values} == stored_values


@pytest.mark.django_db
def test_creating_and_editing_a_case_asks_no_constraint_queries(site, contributor):
    # Django's constraint validation runs `SELECT 1 AS "_check" WHERE …` once per constraint.
    with CaptureQueriesContext(connection) as queries:
        case = create(site, contributor, cytology="hsil", age_at_exam=40)
        case_services.update_case(case=case, actor=contributor, values={"cytology": "lsil"})
    assert not [query for query in queries if '"_check"' in query["sql"]]
    assert Case.objects.get(pk=case.pk).cytology == "lsil"
