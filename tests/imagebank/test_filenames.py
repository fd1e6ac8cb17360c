"""The file-name policy: a name is kept only when it cannot identify anyone."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagebank import filenames
from imagebank.filenames import stored_name, stored_path, withheld_name
from imagebank.pseudonyms import pseudonym_for
from tests.factories import make_case, make_site


@pytest.mark.parametrize(
    "name",
    [
        "Case 002",
        "case 10",
        "Cases - Images.xlsx",
        "Cases Meta data.xlsx",
        "meta_data.xlsx",
        "manifest.json",
        "manifest.csv",
        "image 3.jpg",
        "cervix.JPG",
        "before_acetic_acid.png",
        "après lugol.jpg",  # accents do not matter
        "Después del ácido acético.tif",
        "VIA magnified 2.jpg",
        "green filter.jpeg",
        "photo.dcm",
        "colposcopy",
        "lugol.jpg",
        "upload",
    ],
)
def test_neutral_names_are_kept_as_received(name):
    assert stored_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("AAAW1.jpg", "an IARC CaseID"),
        ("Case-080_ACI1.png", "an IARC mask named after its case"),
        ("Jane_Doe.jpg", "a name"),
        ("MRN1234567.dcm", "a record number"),
        ("IMG_0001.JPG", "four digits"),
        ("image 2024.jpg", "a year"),
        ("05-03.jpg", "a day and a month"),
        ("2024-03-05 lugol.jpg", "a date"),
        ("img 1 2 3.jpg", "three numbers"),
        ("JD lugol.jpg", "initials"),
        ("Кейс.jpg", "a word in another script"),
        ("image\x00.jpg", "a control character"),
        ("image " * 30 + ".jpg", "too long"),
    ],
)
def test_names_that_could_identify_are_withheld(name, why):
    shown = stored_name(name)
    assert shown != name, why
    assert shown == withheld_name(name)
    assert shown.startswith("file-")


def test_a_withheld_name_is_a_keyed_hash_with_the_lower_cased_extension(settings):
    shown = stored_name("AAAW1.JPG")
    assert shown.endswith(".jpg") and len(shown) == len("file-") + 12 + len(".jpg")
    assert stored_name("AAAW1.JPG") == shown  # stable: a report and the case page agree
    assert stored_name("AAAW2.JPG") != shown
    assert stored_name("AAAW1.exe") == withheld_name("AAAW1.exe") and "." not in shown[5:-4]
    assert not stored_name("AAAW1.exe").endswith(".exe")  # only known extensions are kept
    settings.PSEUDONYM_KEY = "another key"
    assert stored_name("AAAW1.JPG") != shown  # nobody without the key can test a guessed name


def test_the_policy_applied_twice_changes_nothing():
    for name in ("AAAW1.jpg", "Case 002", "IM1", ""):
        assert stored_name(stored_name(name)) == stored_name(name)


@pytest.mark.parametrize(
    ("name", "local_patient_id"),
    [
        ("image 12.jpg", "12"),
        ("case 12.jpg", "CASE-12"),
        ("case 12.jpg", "case 12"),
        ("lugol via.jpg", "VIA"),
    ],
)
def test_a_name_that_spells_the_local_patient_id_is_withheld(name, local_patient_id):
    assert stored_name(name) == name
    assert stored_name(name, local_patient_id=local_patient_id) == withheld_name(name)


def test_another_number_than_the_patient_id_is_not_mistaken_for_it():
    assert stored_name("image 123.jpg", local_patient_id="12") == "image 123.jpg"


@pytest.mark.django_db
def test_the_patient_id_is_found_through_the_case_pseudonym():
    site = make_site()
    case = make_case(site=site, local_patient_id="12")
    assert case.subject.pseudonym == pseudonym_for(site.slug, "12")
    assert stored_name("image 12.jpg", case=case) == withheld_name("image 12.jpg")
    assert stored_name("image 3.jpg", case=case) == "image 3.jpg"


def test_paths_are_judged_part_by_part():
    assert stored_path("Case 002/AAAW1.jpg") == f"Case 002/{withheld_name('AAAW1.jpg')}"
    assert stored_path("images/lugol.jpg") == "images/lugol.jpg"
    assert stored_path("Jane Doe\\lugol.jpg") == f"{withheld_name('Jane Doe')}\\lugol.jpg"


def test_the_allow_list_holds_no_word_short_enough_to_be_initials():
    assert all(len(word) >= 3 for word in filenames.NEUTRAL_WORDS)
    assert all(word == filenames._folded(word) for word in filenames.NEUTRAL_WORDS)


@given(st.text(max_size=60))
def test_any_name_is_kept_whole_or_withheld_whole(name):
    shown = stored_name(name)
    assert shown in (name, withheld_name(name))
    if shown == name and name and not name.startswith("file-"):
        assert filenames.is_neutral(name)
