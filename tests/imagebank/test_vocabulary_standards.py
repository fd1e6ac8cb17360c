"""Every term of each published list reads as its code: the lists are copied here as their sources
print them, independently of the spellings the vocabularies carry, so a term the bank forgot or
misspelt fails here whatever the sample happens to contain."""

import pytest

from imagebank import vocabularies as vocab

# IFCPC 2011 colposcopic terminology of the cervix (Bornstein et al., Obstet Gynecol 2012), in the
# order and the words of its table.
IFCPC_2011 = [
    # General assessment
    (vocab.ADEQUACY, "Adequate", "adequate"),
    (vocab.ADEQUACY, "Inadequate", "inadequate"),
    (vocab.INADEQUACY_REASON, "Inflammation", "inflammation"),
    (vocab.INADEQUACY_REASON, "Bleeding", "bleeding"),
    (vocab.INADEQUACY_REASON, "Scar", "scar"),
    (vocab.SCJ_VISIBILITY, "Completely visible", "completely_visible"),
    (vocab.SCJ_VISIBILITY, "Partially visible", "partially_visible"),
    (vocab.SCJ_VISIBILITY, "Not visible", "not_visible"),
    (vocab.TRANSFORMATION_ZONE, "Transformation zone type 1", "type_1"),
    (vocab.TRANSFORMATION_ZONE, "Transformation zone type 2", "type_2"),
    (vocab.TRANSFORMATION_ZONE, "Transformation zone type 3", "type_3"),
    # Normal colposcopic findings
    (vocab.NORMAL_FINDINGS, "Original squamous epithelium: Mature", "squamous_mature"),
    (vocab.NORMAL_FINDINGS, "Original squamous epithelium: Atrophic", "squamous_atrophic"),
    (vocab.NORMAL_FINDINGS, "Columnar epithelium: Ectopy", "columnar_ectopy_present"),
    (
        vocab.NORMAL_FINDINGS,
        "Metaplastic squamous epithelium: Nabothian cysts",
        "metaplastic_nabothian_cysts",
    ),
    (
        vocab.NORMAL_FINDINGS,
        "Metaplastic squamous epithelium: Crypt (gland) openings",
        "metaplastic_crypt_openings",
    ),
    (vocab.NORMAL_FINDINGS, "Deciduosis in pregnancy", "deciduosis_pregnancy"),
    # Abnormal colposcopic findings: general principles
    (vocab.LESION_LOCATION, "Inside the T-zone", "inside_tz"),
    (vocab.LESION_LOCATION, "Outside the T-zone", "outside_tz"),
    # Grade 1 (minor)
    (vocab.GRADE_1_FINDINGS, "Fine mosaic", "fine_mosaic"),
    (vocab.GRADE_1_FINDINGS, "Fine punctation", "fine_punctation"),
    (vocab.GRADE_1_FINDINGS, "Thin acetowhite epithelium", "thin_acetowhite"),
    (vocab.GRADE_1_FINDINGS, "Irregular, geographic border", "irregular_border"),
    # Grade 2 (major)
    (vocab.GRADE_2_FINDINGS, "Sharp border", "sharp_border"),
    (vocab.GRADE_2_FINDINGS, "Inner border sign", "inner_border_sign"),
    (vocab.GRADE_2_FINDINGS, "Ridge sign", "ridge_sign"),
    (vocab.GRADE_2_FINDINGS, "Dense acetowhite epithelium", "dense_acetowhite"),
    (vocab.GRADE_2_FINDINGS, "Coarse mosaic", "coarse_mosaic"),
    (vocab.GRADE_2_FINDINGS, "Coarse punctation", "coarse_punctation"),
    (vocab.GRADE_2_FINDINGS, "Rapid appearance of acetowhitening", "rapid_acetowhitening"),
    (vocab.GRADE_2_FINDINGS, "Cuffed crypt (gland) openings", "cuffed_crypt_openings"),
    # Non-specific
    (vocab.NON_SPECIFIC_FINDINGS, "Leukoplakia (keratosis, hyperkeratosis)", "leukoplakia"),
    (vocab.NON_SPECIFIC_FINDINGS, "Erosion", "erosion"),
    (
        vocab.NON_SPECIFIC_FINDINGS,
        "Lugol's staining (Schiller's test): stained",
        "iodine_stained",
    ),
    (
        vocab.NON_SPECIFIC_FINDINGS,
        "Lugol's staining (Schiller's test): non-stained",
        "iodine_non_stained",
    ),
    # Suspicious for invasion
    (vocab.SUSPICIOUS_FOR_INVASION_FINDINGS, "Atypical vessels", "atypical_vessels"),
    (vocab.SUSPICIOUS_FOR_INVASION_FINDINGS, "Fragile vessels", "fragile_vessels"),
    (vocab.SUSPICIOUS_FOR_INVASION_FINDINGS, "Irregular surface", "irregular_surface"),
    (vocab.SUSPICIOUS_FOR_INVASION_FINDINGS, "Exophytic lesion", "exophytic_lesion"),
    (vocab.SUSPICIOUS_FOR_INVASION_FINDINGS, "Necrosis", "necrosis"),
    (vocab.SUSPICIOUS_FOR_INVASION_FINDINGS, "Ulceration (necrotic)", "ulceration"),
    (vocab.SUSPICIOUS_FOR_INVASION_FINDINGS, "Tumor/gross neoplasm", "gross_neoplasm"),
    # Miscellaneous findings
    (vocab.MISCELLANEOUS_FINDINGS, "Congenital transformation zone", "congenital_tz"),
    (vocab.MISCELLANEOUS_FINDINGS, "Condyloma", "condyloma"),
    (vocab.MISCELLANEOUS_FINDINGS, "Polyp (ectocervical)", "polyp_ectocervical"),
    (vocab.MISCELLANEOUS_FINDINGS, "Polyp (endocervical)", "polyp_endocervical"),
    (vocab.MISCELLANEOUS_FINDINGS, "Inflammation", "inflammation"),
    (vocab.MISCELLANEOUS_FINDINGS, "Stenosis", "stenosis"),
    (vocab.MISCELLANEOUS_FINDINGS, "Congenital anomaly", "congenital_anomaly"),
    (vocab.MISCELLANEOUS_FINDINGS, "Post-treatment consequence", "post_treatment_consequence"),
    (vocab.MISCELLANEOUS_FINDINGS, "Endometriosis", "endometriosis"),
]

# The Swede score (Strander et al. 2005): each published descriptor, and its points.
SWEDE = [
    (vocab.SWEDE_ACETO_UPTAKE, "Zero or transparent", 0),
    (vocab.SWEDE_ACETO_UPTAKE, "Shady, milky (not transparent, not opaque)", 1),
    (vocab.SWEDE_ACETO_UPTAKE, "Distinct, opaque white", 2),
    (vocab.SWEDE_MARGINS, "Diffuse", 0),
    (vocab.SWEDE_MARGINS, "Sharp but irregular, jagged, “geographical” satellites", 1),
    (vocab.SWEDE_MARGINS, "Sharp and even, difference in surface level, including “cuffing”", 2),
    (vocab.SWEDE_VESSELS, "Fine, regular", 0),
    (vocab.SWEDE_VESSELS, "Absent", 1),
    (vocab.SWEDE_VESSELS, "Coarse or atypical", 2),
    (vocab.SWEDE_LESION_SIZE, "<5 mm", 0),
    (vocab.SWEDE_LESION_SIZE, "5–15 mm or 2 quadrants", 1),
    (vocab.SWEDE_LESION_SIZE, ">15 mm or 3–4 quadrants, or endocervically undefined", 2),
    (vocab.SWEDE_IODINE_UPTAKE, "Brown", 0),
    (vocab.SWEDE_IODINE_UPTAKE, "Faintly or patchy yellow", 1),
    (vocab.SWEDE_IODINE_UPTAKE, "Distinct yellow", 2),
]

# The Bethesda System 2014: the interpretation/result categories, in its words.
BETHESDA_2014 = [
    ("Negative for intraepithelial lesion or malignancy", "nilm"),
    ("NILM", "nilm"),
    ("Trichomonas vaginalis", "nilm"),
    ("Shift in flora suggestive of bacterial vaginosis", "nilm"),
    ("Reactive cellular changes", "nilm"),
    ("Glandular cells status post hysterectomy", "nilm"),
    ("Atrophy", "nilm"),
    ("Endometrial cells (in a woman ≥45 years of age)", "endometrial_cells"),
    ("Atypical squamous cells of undetermined significance (ASC-US)", "asc_us"),
    ("Atypical squamous cells, cannot exclude HSIL (ASC-H)", "asc_h"),
    ("Low-grade squamous intraepithelial lesion (LSIL)", "lsil"),
    ("High-grade squamous intraepithelial lesion (HSIL)", "hsil"),
    ("HSIL with features suspicious for invasion", "hsil_suspicious_invasion"),
    ("Squamous cell carcinoma", "scc"),
    ("Atypical endocervical cells (NOS)", "agc"),
    ("Atypical endometrial cells (NOS)", "agc"),
    ("Atypical glandular cells (NOS)", "agc"),
    ("Atypical endocervical cells, favor neoplastic", "agc_favour_neoplastic"),
    ("Atypical glandular cells, favor neoplastic", "agc_favour_neoplastic"),
    ("Endocervical adenocarcinoma in situ", "ais"),
    ("Adenocarcinoma, endocervical", "adenocarcinoma_endocervical"),
    ("Adenocarcinoma, endometrial", "adenocarcinoma_endometrial"),
    ("Adenocarcinoma, extrauterine", "adenocarcinoma_extrauterine"),
    ("Adenocarcinoma, not otherwise specified (NOS)", "adenocarcinoma"),
    ("Other malignant neoplasms", "other_malignant"),
    ("Unsatisfactory for evaluation", "unsatisfactory"),
]

# Histopathology in LAST (2012) and WHO 2020 terms, with the -IN grades reports add, and the
# grade each has on the ordered scale.
HISTOPATHOLOGY = [
    ("Negative for intraepithelial lesion or malignancy", "normal", "normal"),
    ("LSIL (CIN1)", "cin1", "lsil"),
    ("Low-grade squamous intraepithelial lesion (LSIL)", "cin1", "lsil"),
    ("Condyloma", "lsil_hpv", "lsil"),
    ("HSIL (CIN2)", "cin2", "hsil_cin2"),
    ("HSIL (CIN3)", "cin3", "hsil_cin3"),
    ("High-grade squamous intraepithelial lesion (HSIL)", "hsil", "hsil_cin2"),
    ("Carcinoma in situ", "cin3", "hsil_cin3"),
    ("Adenocarcinoma in situ (AIS)", "ais", "hsil_cin3"),
    ("Adenocarcinoma in situ, HPV-associated", "ais", "hsil_cin3"),
    ("Stratified mucin-producing intraepithelial lesion (SMILE)", "ais", "hsil_cin3"),
    (
        "Superficially invasive squamous cell carcinoma (SISCCA)",
        "scc_microinvasive",
        "cancer",
    ),
    ("Microinvasive squamous cell carcinoma", "scc_microinvasive", "cancer"),
    ("Squamous cell carcinoma, HPV-associated", "scc", "cancer"),
    ("Squamous cell carcinoma, HPV-independent", "scc", "cancer"),
    ("Adenocarcinoma, HPV-associated", "adenocarcinoma", "cancer"),
    ("Adenocarcinoma, HPV-independent, gastric type", "adenocarcinoma", "cancer"),
    ("Adenosquamous carcinoma", "carcinoma_other", "cancer"),
    ("Neuroendocrine carcinoma", "carcinoma_other", "cancer"),
    ("Not done", "not_done", "not_done"),
    ("Unknown", "unknown", "unknown"),
]
# The same lesions of the vagina and the vulva.
HISTOPATHOLOGY_OTHER_SITES = [
    ("LSIL (VaIN1)", "vain1"),
    ("HSIL (VaIN2)", "vain2"),
    ("HSIL (VaIN3)", "vain3"),
    ("LSIL (VIN1)", "vin1"),
    ("HSIL (VIN2)", "vin2"),
    ("HSIL (VIN3)", "vin3"),
    ("Differentiated VIN (dVIN)", "dvin"),
]

# VIA: the WHO/IARC result categories, and the acetowhite features as the IARC VIA bank writes them.
VIA = [
    (vocab.VIA_RESULT, "VIA negative", "negative"),
    (vocab.VIA_RESULT, "VIA positive", "positive"),
    (vocab.VIA_RESULT, "Suspicious for cancer", "suspicious_for_cancer"),
    (vocab.ACETOWHITE_AREA, "Present", "present"),
    (vocab.ACETOWHITE_AREA, "Absent", "absent"),
    (vocab.ACETOWHITE_COLOUR, "Thin", "thin"),
    (vocab.ACETOWHITE_COLOUR, "Dense", "dense"),
    (vocab.ACETOWHITE_MARGIN, "Diffuse", "diffuse"),
    (vocab.ACETOWHITE_MARGIN, "Sharp but irregular", "irregular"),
    (vocab.ACETOWHITE_MARGIN, "Sharp and regular", "well_defined"),
    (vocab.ACETOWHITE_MARGIN, "Sharp and raised", "sharp_raised"),
    (vocab.ACETOWHITE_SURFACE, "Smooth", "smooth"),
    (vocab.ACETOWHITE_SURFACE, "Irregular", "irregular"),
    (
        vocab.ACETOWHITE_LOCATION,
        "Within TZ or close to the external os (if SCJ is not visible)",
        "within_tz",
    ),
    (vocab.ACETOWHITE_LOCATION, "Outside TZ", "outside_tz"),
    (vocab.ACETOWHITE_SIZE, "Covering less than 75% of ectocervix", "up_to_75"),
    (vocab.ACETOWHITE_SIZE, "Covering more than 75% of ectocervix", "more_than_75"),
    (vocab.ACETOWHITE_SIZE, "Extending into the endocervical canal", "into_canal"),
    (vocab.SCJ_LOCATION, "On ectocervix", "ectocervix"),
    (vocab.SCJ_LOCATION, "Partly on ectocervix and partly on endocervix", "ecto_and_endocervix"),
    (vocab.ABLATION_ELIGIBILITY, "Eligible for ablative treatment", "eligible"),
    (vocab.ABLATION_ELIGIBILITY, "Not eligible for ablative treatment", "not_eligible"),
]

LIST_FIELDS = set(map(id, vocab.FINDING_LISTS.values()))


def _read(vocabulary, wording):
    return vocab.read(vocabulary, wording, many=id(vocabulary) in LIST_FIELDS)


def _param(vocabulary, wording, expected):
    return pytest.param(vocabulary, wording, expected, id=f"{vocabulary.name}:{wording}")


@pytest.mark.parametrize(("vocabulary", "wording", "code"), [_param(*t) for t in IFCPC_2011])
def test_every_ifcpc_2011_term_reads_as_its_code(vocabulary, wording, code):
    reading = _read(vocabulary, wording)
    assert (reading.codes or [reading.code]) == [code], reading


def test_the_ifcpc_2011_lists_are_complete():
    """Nothing of the table is left out, and the bank adds only the IARC rag sign."""
    listed = {(vocabulary.name, code) for vocabulary, _wording, code in IFCPC_2011}
    for vocabulary in [*vocab.FINDING_LISTS.values(), vocab.SCJ_VISIBILITY, vocab.ADEQUACY]:
        for term in vocabulary.terms:
            if (vocabulary.name, term.code) == ("grade_2_findings", "rag_sign"):
                continue
            if (vocabulary.name, term.code) == ("normal_findings", "columnar_ectopy_absent"):
                continue  # the IARC bank's "Ectopy absent": the table's ectopy, answered no
            assert (vocabulary.name, term.code) in listed, f"{vocabulary.name}.{term.code}"


@pytest.mark.parametrize(("vocabulary", "wording", "points"), [_param(*t) for t in SWEDE])
def test_every_swede_descriptor_reads_as_its_answer_and_points(vocabulary, wording, points):
    reading = vocab.read(vocabulary, wording)
    assert reading.code, f"{wording!r} is not read"
    assert vocabulary.score(reading.code) == points


def test_the_swede_total_is_the_sum_of_the_components():
    worst = {
        field: next(t.code for t in v.terms if t.score == 2)
        for field, v in vocab.SWEDE_COMPONENTS.items()
    }
    assert sum(vocab.SWEDE_COMPONENTS[f].score(c) for f, c in worst.items()) == vocab.SWEDE_MAX


@pytest.mark.parametrize(("wording", "code"), BETHESDA_2014, ids=[w for w, _c in BETHESDA_2014])
def test_every_bethesda_2014_category_reads_as_its_code(wording, code):
    assert vocab.read(vocab.CYTOLOGY, wording).code == code


def test_bethesda_results_are_ranked_by_severity():
    rank = {term.code: term.rank for term in vocab.CYTOLOGY.terms}
    assert rank["nilm"] < rank["asc_us"] < rank["lsil"] < rank["asc_h"] < rank["hsil"]
    assert rank["hsil"] < rank["hsil_suspicious_invasion"] < rank["scc"]
    assert rank["agc"] < rank["agc_favour_neoplastic"] < rank["ais"] < rank["adenocarcinoma"]
    assert vocab.read(vocab.CYTOLOGY, "ASC-US; AGC, favour neoplastic").code == (
        "agc_favour_neoplastic"
    )


@pytest.mark.parametrize(
    ("wording", "code", "grade"), HISTOPATHOLOGY, ids=[w for w, *_ in HISTOPATHOLOGY]
)
def test_every_histopathology_term_reads_as_its_code_and_grade(wording, code, grade):
    reading = vocab.read(vocab.HISTOPATHOLOGY, wording)
    assert reading.code == code, reading
    assert vocab.HISTOPATHOLOGY[code].grade == grade


@pytest.mark.parametrize(
    ("wording", "code"), HISTOPATHOLOGY_OTHER_SITES, ids=[w for w, _ in HISTOPATHOLOGY_OTHER_SITES]
)
def test_vaginal_and_vulvar_lesions_are_coded_apart_from_the_cervix(wording, code):
    reading = vocab.read(vocab.HISTOPATHOLOGY, wording)
    assert reading.code == ""  # says nothing of the cervix
    assert reading.also == {"histopathology_other_sites": [code]}


def test_every_cervical_diagnosis_has_a_grade_in_the_ordered_scale():
    order = ["normal", "lsil", "hsil_cin2", "hsil_cin3", "cancer"]
    assert [vocab.GRADE_RANK[grade] for grade in order] == [0, 1, 2, 3, 4]
    for term in vocab.HISTOPATHOLOGY.terms:
        assert term.grade in vocab.HISTOPATHOLOGY_GRADE, term.code
        assert term.rank == vocab.GRADE_RANK[term.grade]


@pytest.mark.parametrize(("vocabulary", "wording", "code"), [_param(*t) for t in VIA])
def test_every_via_category_and_acetowhite_feature_reads_as_its_code(vocabulary, wording, code):
    assert vocab.read(vocabulary, wording).code == code


@pytest.mark.parametrize(
    "vocabulary",
    [v for v in vars(vocab).values() if isinstance(v, vocab.Vocabulary)],
    ids=lambda v: v.name,
)
def test_every_clinical_vocabulary_names_its_source(vocabulary):
    if vocabulary.name in {"source_format", "clinical_setting", "screening_context"}:
        return  # the bank's own administrative lists
    if vocabulary.name == "examination_step":
        assert vocabulary is vocab.EXAMINATION_STEP
        return  # its sources are named in examination.py's docstring
    assert vocabulary.source, vocabulary.name
