"""Every coded vocabulary: each term looks up from any of its wordings; IARC exports map."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from imagebank import vocabularies as vocab
from imagebank.vocabularies import Term, Vocabulary, normalise_wording

ALL_VOCABULARIES = sorted(
    (value for value in vars(vocab).values() if isinstance(value, Vocabulary)),
    key=lambda vocabulary: vocabulary.name,
)
ALL_TERMS = [
    pytest.param(vocabulary, term, id=f"{vocabulary.name}.{term.code}")
    for vocabulary in ALL_VOCABULARIES
    for term in vocabulary.terms
]
ALL_WORDINGS = [
    pytest.param(vocabulary, term, wording, id=f"{vocabulary.name}.{term.code}:{wording}")
    for vocabulary in ALL_VOCABULARIES
    for term in vocabulary.terms
    for wording in (term.code, str(term.label), *term.spellings)
]


def test_the_module_defines_the_vocabularies_the_models_use():
    names = {vocabulary.name for vocabulary in ALL_VOCABULARIES}
    assert len(names) == len(ALL_VOCABULARIES), "two vocabularies share a name"
    assert {"examination_step", "source_format", "clinical_setting", "cytology"} <= names
    assert set(vocab.SWEDE_COMPONENTS) <= names
    assert set(vocab.FINDING_LISTS) <= names


@pytest.mark.parametrize(("vocabulary", "term"), ALL_TERMS)
def test_code_label_and_choices_agree(vocabulary, term):
    assert term.code in vocabulary
    assert vocabulary[term.code] is term
    assert vocabulary.label(term.code) == str(term.label)
    assert (term.code, term.label) in vocabulary.choices
    # Codes are what the database stores: short, lower-case identifiers.
    assert term.code == term.code.strip().lower()
    assert len(term.code) <= 40


@pytest.mark.parametrize(("vocabulary", "term", "wording"), ALL_WORDINGS)
def test_every_wording_looks_up_its_own_term(vocabulary, term, wording):
    assert vocabulary.lookup(wording) is term


@pytest.mark.parametrize(("vocabulary", "term", "wording"), ALL_WORDINGS)
def test_lookup_folds_case_whitespace_and_quotes(vocabulary, term, wording):
    shouted = f"  {wording.upper()}\t"
    spaced = wording.replace(" ", "  \n ")
    curly = wording.replace("'", "\u2019")
    for variant in (shouted, spaced, curly, f"{wording}."):
        assert vocabulary.lookup(variant) is term, variant


@pytest.mark.parametrize("vocabulary", ALL_VOCABULARIES, ids=lambda v: v.name)
def test_codes_are_unique_within_each_vocabulary(vocabulary):
    codes = [term.code for term in vocabulary.terms]
    assert len(codes) == len(set(codes))
    assert vocabulary.codes == frozenset(codes)


@pytest.mark.parametrize("vocabulary", ALL_VOCABULARIES, ids=lambda v: v.name)
def test_no_wording_names_two_terms_of_one_vocabulary(vocabulary):
    seen: dict[str, str] = {}
    for term in vocabulary.terms:
        for wording in (term.code, str(term.label), *term.spellings):
            key = normalise_wording(wording)
            assert seen.setdefault(key, term.code) == term.code, (
                f"{vocabulary.name}: {wording!r} names {seen[key]} and {term.code}"
            )


def test_a_vocabulary_refuses_a_duplicate_code():
    with pytest.raises(ValueError, match="duplicate code"):
        Vocabulary("clash", [Term("a", "A"), Term("a", "Another A")])


def test_a_vocabulary_refuses_a_spelling_shared_by_two_terms():
    with pytest.raises(ValueError, match="spells both"):
        Vocabulary("clash", [Term("a", "A", ("Same",)), Term("b", "B", (" same ",))])


def test_unknown_wordings_and_codes():
    assert vocab.CYTOLOGY.lookup("no such finding") is None
    assert vocab.CYTOLOGY.lookup(None) is None
    assert vocab.CYTOLOGY.lookup("") is None
    assert vocab.CYTOLOGY.label("") == ""
    assert vocab.CYTOLOGY.label(None) == ""
    assert vocab.CYTOLOGY.label("not-a-code") == "not-a-code"
    assert "not-a-code" not in vocab.CYTOLOGY
    assert vocab.SWEDE_VESSELS.score("not-a-code") is None
    assert vocab.SWEDE_VESSELS.score(None) is None


# The wordings of the IARC Cervical Cancer Image Bank exports and the code each must map to.
IARC_WORDINGS = [
    # colposcopy image types
    (vocab.EXAMINATION_STEP, "After normal saline", "before_acetic_acid"),
    (vocab.EXAMINATION_STEP, "After acetic acid", "after_acetic_acid"),
    (vocab.EXAMINATION_STEP, "After acetic acid with green filter", "green_filter"),
    (vocab.EXAMINATION_STEP, "After Lugol\u2019s iodine", "after_lugol"),
    (vocab.EXAMINATION_STEP, "Speculum examination", "other"),
    (vocab.EXAMINATION_STEP, "After normal saline with green filter", "green_filter"),
    (vocab.EXAMINATION_STEP, "After acetic acid with higher magnification", "after_acetic_acid"),
    # VIA image types
    (vocab.EXAMINATION_STEP, "Before application of acetic acid", "before_acetic_acid"),
    (vocab.EXAMINATION_STEP, "After application of acetic acid", "after_acetic_acid"),
    (
        vocab.EXAMINATION_STEP,
        "After application of acetic acid (magnified view)",
        "after_acetic_acid",
    ),
    # clinical metadata
    (vocab.SCJ_VISIBILITY, "Completely visible", "completely_visible"),
    (vocab.SCJ_VISIBILITY, "Fully visible", "completely_visible"),
    (vocab.TRANSFORMATION_ZONE, "Type 1", "type_1"),
    (vocab.SWEDE_ACETO_UPTAKE, "Nil or transparent", "nil_or_transparent"),
    (vocab.SWEDE_VESSELS, "Fine, regular", "fine_regular"),
    (vocab.SWEDE_LESION_SIZE, "< 5 mm", "lt_5mm"),
    (vocab.SWEDE_IODINE_UPTAKE, "Faintly or patchy yellow", "faint_or_patchy_yellow"),
    (vocab.SWEDE_IODINE_UPTAKE, "Brown", "brown"),
    (vocab.NON_SPECIFIC_FINDINGS, "Iodine (non-stained)", "iodine_non_stained"),
    (vocab.MISCELLANEOUS_FINDINGS, "Polyp (endocervical)", "polyp_endocervical"),
    (vocab.GRADE_1_FINDINGS, "Thin acetowhite epithelium", "thin_acetowhite"),
    (vocab.GRADE_1_FINDINGS, "Irregular border", "irregular_border"),
    (vocab.LESION_LOCATION, "Inside the T-zone", "inside_tz"),
    (vocab.LESION_EXTENT, "< 25%", "lt_25"),
    (vocab.ABLATION_ELIGIBILITY, "Eligible for ablation", "eligible"),
    (vocab.ABLATION_ELIGIBILITY, "Not eligible", "not_eligible"),
    (vocab.HISTOPATHOLOGY, "Not done", "not_done"),
    (vocab.HPV_RESULT, "Not done", "not_done"),
    (vocab.CYTOLOGY, "Not done", "not_done"),
    (vocab.MANAGEMENT, "Repeat HPV test/colposcopy after 1 year", "repeat_in_1_year"),
    (vocab.MANAGEMENT, "Routine screening after 5 years", "routine_screening"),
    (vocab.PROVISIONAL_DIAGNOSIS, "Type 1 transformation zone; normal", "normal"),
    (vocab.HISTOPATHOLOGY, "HSIL-CIN3", "cin3"),
    (vocab.HISTOPATHOLOGY, "LSIL-HPV changes", "lsil_hpv"),
    (vocab.HISTOPATHOLOGY, "Microinvasive carcinoma", "carcinoma"),
    (vocab.VIA_RESULT, "Suspicious of cancer", "suspicious_for_cancer"),
    (vocab.ACETOWHITE_MARGIN, "Sharp and raised", "sharp_raised"),
    (vocab.ACETOWHITE_MARGIN, "Sharp and regular", "well_defined"),
    (vocab.ACETOWHITE_MARGIN, "Sharp but irregular", "irregular"),
    (vocab.SWEDE_IODINE_UPTAKE, "Unknown", "not_assessed"),
    (vocab.SWEDE_IODINE_UPTAKE, "Distinctly yellow", "distinct_yellow"),
    (vocab.SWEDE_VESSELS, "Coarse or atypical vessels", "coarse_or_atypical"),
    (vocab.SWEDE_MARGINS, "Sharp and even, difference in level", "sharp_even"),
    (vocab.SUSPICIOUS_FOR_INVASION_FINDINGS, "Exophytic lesions", "exophytic_lesion"),
    (vocab.MISCELLANEOUS_FINDINGS, "Post treatment consequence", "post_treatment_consequence"),
    (vocab.GRADE_2_FINDINGS, "Rag sign", "rag_sign"),
    (vocab.MANAGEMENT, "No further screening is required", "no_further_screening"),
    (vocab.MANAGEMENT, "LLETZ (type 3 excision)", "excision"),
    (vocab.MANAGEMENT, "Multiple punch biopsies", "biopsy"),
    (vocab.EXAMINATION_STEP, "After acetic acid with endocervical speculum", "after_acetic_acid"),
    (vocab.EXAMINATION_STEP, "Visualization of the SCJ", "other"),
    (
        vocab.EXAMINATION_STEP,
        "After normal saline with green filter with higher magnification",
        "green_filter",
    ),
]


@pytest.mark.parametrize(
    ("vocabulary", "wording", "code"),
    [pytest.param(v, w, c, id=f"{v.name}:{w}") for v, w, c in IARC_WORDINGS],
)
def test_iarc_wordings_map_to_their_codes(vocabulary, wording, code):
    reading = vocab.read(vocabulary, wording)
    assert reading.code == code, f"{vocabulary.name} reads {wording!r} as {reading}"


def test_lugol_with_a_straight_or_curly_apostrophe_is_the_same_step():
    straight = vocab.EXAMINATION_STEP.lookup("After Lugol's iodine")
    curly = vocab.EXAMINATION_STEP.lookup("After Lugol\u2019s iodine")
    left = vocab.EXAMINATION_STEP.lookup("After Lugol\u2018s iodine")
    assert straight is curly is left is vocab.EXAMINATION_STEP["after_lugol"]


def test_normalise_wording_examples():
    assert normalise_wording("  After\u00a0LUGOL\u2019S   iodine. ") == "after lugol's iodine"
    assert normalise_wording("25\u201350%") == "25-50%"
    assert normalise_wording("a\u2014b") == "a-b"
    assert normalise_wording("Type 1;") == "type 1"


@pytest.mark.parametrize("component", sorted(vocab.SWEDE_COMPONENTS))
def test_swede_components_score_zero_to_two_once_each(component):
    vocabulary = vocab.SWEDE_COMPONENTS[component]
    scores = sorted(term.score for term in vocabulary.terms if term.score is not None)
    assert scores == [0, 1, 2]
    for term in vocabulary.terms:
        assert vocabulary.score(term.code) == term.score
    # A sign that could not be assessed is a value of its own, worth no points.
    assert vocabulary["not_assessed"].score is None


def test_swede_maximum_is_five_components_of_two_points():
    assert len(vocab.SWEDE_COMPONENTS) == 5
    assert (
        vocab.SWEDE_MAX
        == 10
        == sum(
            max(term.score for term in vocabulary.terms if term.score is not None)
            for vocabulary in vocab.SWEDE_COMPONENTS.values()
        )
    )


def test_only_swede_terms_carry_scores():
    swede = set(map(id, vocab.SWEDE_COMPONENTS.values()))
    for vocabulary in ALL_VOCABULARIES:
        if id(vocabulary) not in swede:
            assert all(term.score is None for term in vocabulary.terms), vocabulary.name


def test_step_order_follows_the_examination():
    assert vocab.STEP_ORDER["before_acetic_acid"] < vocab.STEP_ORDER["after_acetic_acid"]
    assert vocab.STEP_ORDER["after_acetic_acid"] < vocab.STEP_ORDER["green_filter"]
    assert vocab.STEP_ORDER["green_filter"] < vocab.STEP_ORDER["after_lugol"]
    assert set(vocab.STEP_ORDER) == vocab.EXAMINATION_STEP.codes


# --- properties --------------------------------------------------------------------------------


@given(st.text())
def test_lookup_never_raises_on_arbitrary_text(text):
    for vocabulary in ALL_VOCABULARIES:
        term = vocabulary.lookup(text)
        assert term is None or term.code in vocabulary


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_normalised_wording_has_no_runs_of_space_or_curly_quotes(text):
    folded = normalise_wording(text)
    assert folded == folded.lstrip()
    assert "  " not in folded
    assert "\u2019" not in folded


@example("Type 1 . .")
@example("x. :")
@given(st.text())
def test_normalise_wording_is_idempotent(text):
    once = normalise_wording(text)
    assert normalise_wording(once) == once


@pytest.mark.parametrize("wording", ["Type 1.", "Type 1 .", " Type 1 ;", "Type 1:"])
def test_trailing_punctuation_is_ignored(wording):
    assert vocab.TRANSFORMATION_ZONE.lookup(wording) is vocab.TRANSFORMATION_ZONE["type_1"]


def test_several_trailing_full_stops_are_ignored():
    assert vocab.TRANSFORMATION_ZONE.lookup("Type 1 . .") is vocab.TRANSFORMATION_ZONE["type_1"]


@given(
    st.sampled_from([w.values for w in ALL_WORDINGS]),
    st.sampled_from([str.upper, str.lower, str.title, lambda s: f" {s} "]),
)
def test_any_case_of_a_known_wording_looks_up_its_term(param, transform):
    vocabulary, term, wording = param
    assert vocabulary.lookup(transform(wording)) is term
