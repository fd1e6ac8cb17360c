"""Reading real wordings: tokens, terms spotted inside longer text, negation, composite values
(a TZ type with an impression, one histology result per lip, cervix + vagina + vulva), and
"Unknown" as a value."""

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from imagebank import vocabularies as vocab
from imagebank.vocabularies import Term, Vocabulary

ALL_VOCABULARIES = [v for v in vars(vocab).values() if isinstance(v, Vocabulary)]


# --- tokens and matching --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("HSIL-CIN2", "hsil cin 2"),
        ("HSIL (CIN2)", "hsil/cin2"),
        ("After Lugol\u2019s iodine ", "after lugols iodine"),
        ("Exophytic lesions", "exophytic lesion"),
        ("Multiple punch biopsies", "multiple punch biopsy"),
        ("Post treatment consequence", "Post-treatment consequence"),
        ("Négatif", "negatif"),
        ("< 5 mm", "<5mm"),
        ("5\u201315 mm", "5-15 mm"),
    ],
)
def test_wordings_that_differ_only_in_form_have_the_same_tokens(one, other):
    assert vocab.tokens(one) == vocab.tokens(other)


def test_a_closing_dash_is_a_result_and_other_dashes_separate():
    assert vocab.tokens("VIA-") == ("via", "minus")
    assert vocab.tokens("HSIL-CIN3") == ("hsil", "cin", "3")
    assert vocab.read(vocab.VIA_RESULT, "VIA-").code == "negative"
    assert vocab.read(vocab.VIA_RESULT, "VIA+").code == "positive"


def test_short_words_and_words_in_ss_us_is_keep_their_s():
    assert vocab.tokens("stenosis papillomavirus less yes") == (
        "stenosis",
        "papillomavirus",
        "less",
        "yes",
    )


def test_find_spots_every_term_longest_first():
    found = vocab.HISTOPATHOLOGY.find("squamous cell carcinoma in situ and squamous cell carcinoma")
    assert [f.term.code for f in found] == ["cin3", "scc"]


@pytest.mark.parametrize(
    "text",
    [
        "no CIN2",
        "negative for HSIL",
        "without evidence of carcinoma",
        "biopsy to exclude LSIL",
        "HSIL ruled out",
    ],
)
def test_a_negated_term_is_not_spotted(text):
    codes = {f.term.code for f in vocab.HISTOPATHOLOGY.find(text)}
    assert not codes & {"cin2", "hsil", "carcinoma", "cin1"}, codes


def test_bare_numbers_and_numerals_name_a_term_only_as_a_whole_wording():
    assert vocab.read(vocab.TRANSFORMATION_ZONE, "2").code == "type_2"
    assert vocab.read(vocab.TRANSFORMATION_ZONE, "III").code == "type_3"
    assert vocab.TRANSFORMATION_ZONE.find("CIN II in 2 quadrants") == []


def test_a_label_in_another_language_the_portal_speaks_finds_its_term(monkeypatch):
    class Label:
        """A label as gettext_lazy would give it, translated when French is active."""

        def __str__(self):
            return "Positif" if translation.get_language() == "fr" else "Positive"

    vocabulary = Vocabulary("test_result", [Term("positive", Label()), Term("negative", "No")])
    assert vocabulary.lookup("positif").code == "positive"
    assert vocabulary.lookup("POSITIVE").code == "positive"


def test_a_translation_shared_by_two_terms_finds_neither():
    class Same:
        def __str__(self):
            return "Autre" if translation.get_language() == "fr" else "Other"

    class Also:
        def __str__(self):
            return "Autre" if translation.get_language() == "fr" else "Another"

    vocabulary = Vocabulary("test_clash", [Term("a", Same()), Term("b", Also())])
    assert vocabulary.lookup("autre") is None


# --- values that mean "nothing" or "unknown" -----------------------------------------------


@pytest.mark.parametrize("wording", ["", "  ", "None", "N/A", "Not applicable", "nil"])
def test_nothing_given_is_no_problem(wording):
    reading = vocab.read(vocab.ADEQUACY, wording)
    assert reading.not_given and reading.understood and not reading.code


def test_unknown_is_a_value_coded_where_the_vocabulary_has_it():
    assert vocab.read(vocab.HPV_RESULT, "Unknown").code == "unknown"
    assert vocab.read(vocab.HISTOPATHOLOGY, "unknown").code == "unknown"
    assert vocab.read(vocab.SWEDE_IODINE_UPTAKE, "Unknown").code == "not_assessed"
    reading = vocab.read(vocab.TRANSFORMATION_ZONE, "Unknown")
    assert reading.unknown and reading.understood and not reading.code


def test_a_wording_that_names_nothing_is_not_understood():
    reading = vocab.read(vocab.PROVISIONAL_DIAGNOSIS, "Recurrence after LLETZ")
    assert not reading.understood
    assert reading.unread == ["Recurrence after LLETZ"]


# --- composite values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wording", "impression", "zone"),
    [
        (
            "Type 3 transformation zone; high-grade squamous intraepithelial lesion (HSIL)",
            "hsil",
            "type_3",
        ),
        ("Type 1 transformation zone; normal", "normal", "type_1"),
        (
            "Type 3 transformation zone; high-grade squamous intraepithelial lesion (HSIL) of the "
            "cervix extending to the vagina",
            "hsil",
            "type_3",
        ),
        (
            "Type 3 transformation zone; high-grade squamous intraepithelial lesion (HSIL); "
            "cervical endometriosis",
            "hsil",
            "type_3",
        ),
        (
            "Type 3 transformation zone; suspicion of early invasive squamous cell carcinoma",
            "invasive_cancer",
            "type_3",
        ),
        ("Type 3 transformation zone; suspicion of adenocarcinoma", "invasive_cancer", "type_3"),
        ("Suspicion of invasive cancer", "invasive_cancer", None),
        ("Type 1 transformation zone; condyloma", "lsil", "type_1"),
        (
            "Type 1 transformation zone; subclinical papilloma virus infection (SPI)",
            "lsil",
            "type_1",
        ),
        ("Type 1 transformation zone; congenital transformation zone", "other", "type_1"),
        (
            "Type 1 transformation zone; residual/recurrent high-grade squamous intraepithelial "
            "lesion (HSIL)",
            "hsil",
            "type_1",
        ),
        ("TZ type 2; low-grade squamous intraepithelial lesion (LSIL)", "lsil", "type_2"),
        ("Type II transformation zone; LSIL; cervical polyp", "lsil", "type_2"),
        ("Normal; no evidence of HSIL", "normal", None),
        ("Cervicitis", "inflammation", None),
    ],
)
def test_an_impression_is_coded_with_the_tz_type_written_before_it(wording, impression, zone):
    reading = vocab.read(vocab.PROVISIONAL_DIAGNOSIS, wording)
    assert reading.code == impression
    assert reading.also.get("transformation_zone") == zone


def test_two_tz_types_in_one_impression_give_none():
    reading = vocab.read(vocab.PROVISIONAL_DIAGNOSIS, "Type 1 transformation zone; Type 3; HSIL")
    assert reading.code == "hsil"
    assert "transformation_zone" not in reading.also


@pytest.mark.parametrize(
    ("wording", "code", "other_sites"),
    [
        ("Anterior lip: HSIL-CIN3; posterior lip: LSIL-CIN1", "cin3", None),
        ("CIN1 on the anterior lip, CIN2 on the posterior lip", "cin2", None),
        ("12 o'clock: CIN 1. 6 o'clock: no dysplasia", "cin1", None),
        (
            "HSIL-CIN3 of the cervix, VaIN2 of the vagina and VIN1 of the vulva",
            "cin3",
            ["vain2", "vin1"],
        ),
        ("Cervix: CIN2; vagina: HSIL; vulva: LSIL", "cin2", ["vain_hsil", "vin1"]),
        ("HSIL (CIN3) with extension into endocervical glands", "cin3", None),
        ("CIN2/3", "hsil", None),
        ("Microinvasive squamous cell carcinoma arising in CIN3", "scc_microinvasive", None),
        ("Chronic cervicitis with squamous metaplasia. No dysplasia.", "cervicitis", None),
        ("No evidence of malignancy", "normal", None),
        ("No evidence of CIN or malignancy", "normal", None),
        ("Cervical intraepithelial neoplasia grade 3", "cin3", None),
        ("HSIL-CIN3 with focal microinvasion", "scc_microinvasive", None),
        ("No CIN seen but HSIL on the second biopsy", "hsil", None),
        ("Adenocarcinoma in situ and HSIL (CIN3)", "ais", None),
    ],
)
def test_a_histology_report_is_coded_by_its_worst_cervical_diagnosis(wording, code, other_sites):
    reading = vocab.read(vocab.HISTOPATHOLOGY, wording)
    assert reading.code == code, reading
    assert reading.also.get("histopathology_other_sites") == other_sites


def test_a_report_of_the_vagina_only_says_nothing_of_the_cervix():
    reading = vocab.read(vocab.HISTOPATHOLOGY, "HSIL of the vaginal vault")
    assert reading.code == ""
    assert reading.also == {"histopathology_other_sites": ["vain_hsil"]}


@pytest.mark.parametrize(
    ("wording", "step"),
    [
        ("After normal saline with green filter", "green_filter"),
        ("After acetic acid with higher magnification", "after_acetic_acid"),
        ("After acetic acid with endocervical speculum", "after_acetic_acid"),
        ("Examination with endocervical speculum", "other"),
        ("Before application of acetic acid", "before_acetic_acid"),
        ("After application of Lugol\u2019s iodine", "after_lugol"),
        ("Lugol's iodine (VILI), magnified", "after_lugol"),
    ],
)
def test_a_step_wording_naming_several_steps_gives_the_one_the_picture_shows(wording, step):
    assert vocab.read(vocab.EXAMINATION_STEP, wording).code == step


@pytest.mark.parametrize(
    ("wording", "code"),
    [
        ("LLETZ (type 3 excision) with laser ablation of the residual vaginal lesion", "excision"),
        ("Punch biopsy from 12 o\u2019clock position", "biopsy"),
        ("Punch biopsy may be done for 1 o\u2019clock position to exclude LSIL-CIN1", "biopsy"),
        ("Diagnostic excision with LLETZ was performed", "excision"),
        ("Repeat LLETZ", "excision"),
        ("Thermal ablation at the same visit", "ablation"),
        ("Referred to oncology for staging", "referral"),
    ],
)
def test_management_is_coded_by_its_most_definitive_step(wording, code):
    assert vocab.read(vocab.MANAGEMENT, wording).code == code


@pytest.mark.parametrize(
    ("wording", "codes"),
    [
        (
            "Nabothian cysts and Crypt (gland) openings",
            ["metaplastic_nabothian_cysts", "metaplastic_crypt_openings"],
        ),
        ("Mature; ectopy present", ["squamous_mature", "columnar_ectopy_present"]),
    ],
)
def test_a_findings_cell_may_name_several_findings(wording, codes):
    assert vocab.read(vocab.NORMAL_FINDINGS, wording, many=True).codes == codes


def test_a_findings_column_named_after_its_term_is_answered_yes_or_no():
    yes = vocab.read_finding_column(vocab.NORMAL_FINDINGS, "Deciduosis in pregnancy", "Yes")
    assert yes.codes == ["deciduosis_pregnancy"]
    no = vocab.read_finding_column(vocab.NORMAL_FINDINGS, "Deciduosis in pregnancy", "No")
    assert no.not_given and no.codes == []


# --- properties --------------------------------------------------------------------------------


@given(st.sampled_from(ALL_VOCABULARIES), st.text(max_size=200), st.booleans())
def test_read_never_raises_and_gives_only_codes_of_the_vocabulary(vocabulary, text, many):
    reading = vocab.read(vocabulary, text, many=many)
    assert reading.code == "" or reading.code in vocabulary
    assert all(code in vocabulary for code in reading.codes)
    for name, value in reading.also.items():
        target = vocab.CODE_LISTS.get(name) or getattr(vocab, name.upper())
        assert all(code in target for code in (value if isinstance(value, list) else [value]))


@given(st.sampled_from(ALL_VOCABULARIES), st.data())
def test_every_wording_of_a_term_reads_as_that_term(vocabulary, data):
    term = data.draw(st.sampled_from(vocabulary.terms))
    wording = data.draw(st.sampled_from(Vocabulary.wordings(term)))
    reading = vocab.read(vocabulary, wording)
    assert reading.code == term.code
