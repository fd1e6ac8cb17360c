"""The acetowhite area seen at VIA: vocabularies that read the IARC VIA bank's wordings, and the
rule that its features are given only when the area is present."""

import pytest
from django.core.exceptions import ValidationError

from imagebank import vocabularies as vocab
from imagebank.services.cases import create_case, update_case
from tests.factories import make_contributor, make_site

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("vocabulary", "wording", "code"),
    [
        (vocab.ACETOWHITE_AREA, "Present", "present"),
        (vocab.ACETOWHITE_AREA, " absent ", "absent"),
        (vocab.ACETOWHITE_COLOUR, "Thin", "thin"),
        (vocab.ACETOWHITE_MARGIN, "Diffuse", "diffuse"),
        (vocab.ACETOWHITE_SURFACE, "Smooth", "smooth"),
        (
            vocab.ACETOWHITE_LOCATION,
            "Within TZ or close to the external os (if SCJ is not visible)",
            "within_tz",
        ),
        (vocab.ACETOWHITE_SIZE, "Covering more than 75% of ectocervix", "more_than_75"),
    ],
)
def test_the_iarc_via_wordings_map_onto_codes(vocabulary, wording, code):
    assert vocabulary.lookup(wording).code == code


def test_a_present_area_keeps_its_features():
    site = make_site()
    case = create_case(
        site=site,
        actor=make_contributor(site),
        local_patient_id="V-1",
        acetowhite_area="present",
        acetowhite_colour="dense",
        acetowhite_margin="well_defined",
        acetowhite_size="into_canal",
        via_result="positive",
    )
    case.refresh_from_db()
    assert (case.acetowhite_colour, case.acetowhite_size) == ("dense", "into_canal")


def test_features_of_an_absent_area_are_refused_naming_each_field():
    site = make_site()
    with pytest.raises(ValidationError) as error:
        create_case(
            site=site,
            actor=make_contributor(site),
            local_patient_id="V-2",
            acetowhite_area="absent",
            acetowhite_margin="diffuse",
            acetowhite_surface="smooth",
        )
    assert set(error.value.message_dict) == {"acetowhite_margin", "acetowhite_surface"}


def test_an_edit_that_makes_the_area_absent_must_clear_its_features():
    site = make_site()
    user = make_contributor(site)
    case = create_case(
        site=site,
        actor=user,
        local_patient_id="V-3",
        acetowhite_area="present",
        acetowhite_colour="thin",
    )
    with pytest.raises(ValidationError):
        update_case(case=case, actor=user, values={"acetowhite_area": "absent"})
    update_case(
        case=case, actor=user, values={"acetowhite_area": "absent", "acetowhite_colour": ""}
    )
    case.refresh_from_db()
    assert (case.acetowhite_area, case.acetowhite_colour) == ("absent", "")
