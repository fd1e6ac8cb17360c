"""Histopathology of the cervix, vagina and vulva, and the ordered grade benchmarks are built on.

Terms follow the Lower Anogenital Squamous Terminology (LAST: Darragh TM, Colgan TJ, Cox JT, et
al. Arch Pathol Lab Med 2012;136:1266-1297) and the WHO Classification of Female Genital Tumours,
5th edition (IARC 2020): squamous intraepithelial lesions in two tiers, LSIL and HSIL, qualified by
the -IN grade that real reports still give (CIN1 is LSIL; CIN2 and CIN3 are HSIL; VaIN and VIN
likewise for the vagina and the vulva, with differentiated VIN as WHO 2020's HPV-independent
precursor); superficially invasive (micro-invasive) and invasive squamous cell carcinoma;
adenocarcinoma in situ (AIS, with CGIN and SMILE) and adenocarcinoma; other carcinomas and
malignant tumours; benign findings; and "not done". Older reports' dysplasia grades (mild,
moderate, severe, carcinoma in situ) are spellings of the grades they map to.

Every cervical diagnosis carries its grade, in the order the benchmarks need:
normal < LSIL/CIN1 < HSIL/CIN2 < HSIL/CIN3 or AIS < cancer, beside "not done" and "unknown".
HSIL without a CIN grade counts as HSIL/CIN2, the least it can be: right for "CIN2+ versus
below", and never wrongly CIN3+.
"""

from django.utils.translation import gettext_lazy as _

from .terms import Term, vocabulary

LAST_WHO_2020 = (
    "LAST (Darragh et al., Arch Pathol Lab Med 2012); WHO Classification of Female Genital "
    "Tumours, 5th ed. (IARC 2020)"
)

HISTOPATHOLOGY_GRADE = vocabulary(
    "histopathology_grade",
    Term("not_done", _("Not done")),
    Term("unknown", _("Unknown or not assessable")),
    Term("normal", _("Normal / benign"), rank=0),
    Term("lsil", _("LSIL / CIN1"), rank=1),
    Term("hsil_cin2", _("HSIL / CIN2"), rank=2),
    Term("hsil_cin3", _("HSIL / CIN3 or AIS"), rank=3),
    Term("cancer", _("Invasive cancer"), rank=4),
    source=LAST_WHO_2020,
)
GRADE_RANK = {term.code: term.rank for term in HISTOPATHOLOGY_GRADE.terms}


def _diagnosis(code: str, label, spellings: tuple[str, ...], grade: str) -> Term:
    # A diagnosis ranks as its grade does, so the worst of several is the one to keep.
    return Term(code, label, spellings, rank=GRADE_RANK[grade], grade=grade)


HISTOPATHOLOGY = vocabulary(
    "histopathology",
    _diagnosis(
        "not_done",
        _("Not done"),
        (
            "Not performed",
            "ND",
            "No biopsy",
            "Biopsy not done",
            "Not taken",
            "No histology",
            "Histology not done",
            "Not applicable",
        ),
        "not_done",
    ),
    _diagnosis(
        "unknown",
        _("Unknown"),
        ("Not known", "Result not available", "Not available", "Pending", "Awaited", "Lost"),
        "unknown",
    ),
    _diagnosis(
        "unsatisfactory",
        _("Unsatisfactory specimen"),
        (
            "Unsatisfactory",
            "Inadequate",
            "Inadequate specimen",
            "Insufficient",
            "Insufficient material",
            "Non-diagnostic",
            "Nondiagnostic",
        ),
        "unknown",
    ),
    _diagnosis(
        "normal",
        _("Normal / negative"),
        (
            "Normal",
            "Negative",
            "No CIN",
            "No dysplasia",
            "No intraepithelial lesion",
            "Negative for intraepithelial lesion or malignancy",
            "NILM",
            "Within normal limits",
            "No abnormality detected",
            "No evidence of malignancy",
            "No evidence of dysplasia",
            "Negative for dysplasia",
            "Negative for malignancy",
            "Normal cervical tissue",
            "No evidence of CIN",
            "No evidence of CIN or malignancy",
            "No evidence of intraepithelial neoplasia",
        ),
        "normal",
    ),
    _diagnosis(
        "cervicitis",
        _("Cervicitis"),
        (
            "Chronic cervicitis",
            "Acute cervicitis",
            "Chronic inflammation",
            "Inflammation",
            "Inflammatory changes",
        ),
        "normal",
    ),
    _diagnosis(
        "benign",
        _("Other benign finding (metaplasia, polyp, atrophy …)"),
        (
            "Benign",
            "Squamous metaplasia",
            "Immature squamous metaplasia",
            "Metaplasia",
            "Polyp",
            "Endocervical polyp",
            "Benign polyp",
            "Atrophy",
            "Atrophic changes",
            "Reactive changes",
            "Reactive atypia",
            "Nabothian cyst",
            "Endometriosis",
            "Tubal metaplasia",
            "Microglandular hyperplasia",
            "Ectropion",
        ),
        "normal",
    ),
    _diagnosis(
        "lsil_hpv",
        _("LSIL: HPV changes (koilocytosis, condyloma)"),
        (
            "LSIL-HPV changes",
            "LSIL HPV changes",
            "HPV changes",
            "HPV effect",
            "HPV infection",
            "Koilocytosis",
            "Koilocytic atypia",
            "Koilocytes",
            "Condyloma",
            "Condylomata",
            "Flat condyloma",
            "Condyloma acuminatum",
        ),
        "lsil",
    ),
    _diagnosis(
        "cin1",
        _("LSIL (CIN1)"),
        (
            "LSIL",
            "CIN1",
            "CIN I",
            "LSIL-CIN1",
            "LSIL (CIN1)",
            "Low-grade squamous intraepithelial lesion",
            "Low grade",
            "Mild dysplasia",
            "Low-grade squamous intraepithelial lesion (CIN1)",
            "Cervical intraepithelial neoplasia grade 1",
            "CIN grade 1",
            "CIN grade I",
            "Cervical intraepithelial neoplasia 1",
        ),
        "lsil",
    ),
    _diagnosis(
        "hsil",
        _("HSIL, CIN grade not given"),
        (
            "HSIL",
            "High-grade squamous intraepithelial lesion",
            "High grade",
            "CIN2/3",
            "CIN 2-3",
            "CIN II-III",
            "HSIL-CIN2/3",
            "HSIL (CIN2/3)",
            "CIN2+",
        ),
        "hsil_cin2",
    ),
    _diagnosis(
        "cin2",
        _("HSIL (CIN2)"),
        (
            "HSIL-CIN2",
            "HSIL (CIN2)",
            "CIN2",
            "CIN II",
            "Moderate dysplasia",
            "Cervical intraepithelial neoplasia grade 2",
            "CIN grade 2",
            "CIN grade II",
            "Cervical intraepithelial neoplasia 2",
        ),
        "hsil_cin2",
    ),
    _diagnosis(
        "cin3",
        _("HSIL (CIN3)"),
        (
            "HSIL-CIN3",
            "HSIL (CIN3)",
            "CIN3",
            "CIN III",
            "Severe dysplasia",
            "Carcinoma in situ",
            "CIS",
            "Squamous cell carcinoma in situ",
            "Cervical intraepithelial neoplasia grade 3",
            "CIN grade 3",
            "CIN grade III",
            "Cervical intraepithelial neoplasia 3",
        ),
        "hsil_cin3",
    ),
    _diagnosis(
        "ais",
        _("Adenocarcinoma in situ (AIS)"),
        (
            "AIS",
            "Adenocarcinoma in situ",
            "Adenocarcinoma in situ, HPV-associated",
            "CGIN",
            "High-grade CGIN",
            "Cervical glandular intraepithelial neoplasia",
            "SMILE",
            "Stratified mucin-producing intraepithelial lesion",
        ),
        "hsil_cin3",
    ),
    _diagnosis(
        "scc_microinvasive",
        _("Superficially invasive (micro-invasive) squamous cell carcinoma"),
        (
            "Microinvasive squamous cell carcinoma",
            "Micro-invasive squamous cell carcinoma",
            "Superficially invasive squamous cell carcinoma",
            "SISCCA",
            "Early invasive squamous cell carcinoma",
            "Microinvasive SCC",
            "Microinvasion",
            "Focal microinvasion",
            "Early stromal invasion",
        ),
        "cancer",
    ),
    _diagnosis(
        "scc",
        _("Squamous cell carcinoma"),
        (
            "SCC",
            "Invasive squamous cell carcinoma",
            "Squamous cell carcinoma, HPV-associated",
            "Squamous cell carcinoma, HPV-independent",
            "Keratinising squamous cell carcinoma",
            "Non-keratinising squamous cell carcinoma",
        ),
        "cancer",
    ),
    _diagnosis(
        "adenocarcinoma",
        _("Adenocarcinoma"),
        (
            "Invasive adenocarcinoma",
            "Endocervical adenocarcinoma",
            "Adenocarcinoma, HPV-associated",
            "Adenocarcinoma, HPV-independent",
            "Mucinous adenocarcinoma",
            "Gastric-type adenocarcinoma",
        ),
        "cancer",
    ),
    _diagnosis(
        "carcinoma_other",
        _("Other carcinoma (adenosquamous, neuroendocrine …)"),
        (
            "Adenosquamous carcinoma",
            "Neuroendocrine carcinoma",
            "Small cell carcinoma",
            "Large cell neuroendocrine carcinoma",
            "Undifferentiated carcinoma",
        ),
        "cancer",
    ),
    _diagnosis(
        "carcinoma",
        _("Carcinoma, type not given"),
        (
            "Carcinoma",
            "Invasive carcinoma",
            "Microinvasive carcinoma",
            "Micro-invasive carcinoma",
            "Early invasive carcinoma",
            "Invasive cancer",
            "Cancer",
            "Malignancy",
            "Malignant",
        ),
        "cancer",
    ),
    _diagnosis(
        "other_malignant",
        _("Other malignant tumour (sarcoma, lymphoma, melanoma …)"),
        ("Sarcoma", "Lymphoma", "Melanoma", "Metastasis", "Metastatic carcinoma"),
        "cancer",
    ),
    _diagnosis("other", _("Other"), (), "unknown"),
    source=LAST_WHO_2020,
)

HISTOPATHOLOGY_OTHER_SITES = vocabulary(
    "histopathology_other_sites",
    Term("vain1", _("Vaginal LSIL (VaIN1)"), ("VaIN1", "VaIN I", "Vaginal LSIL"), rank=1),
    Term("vain_hsil", _("Vaginal HSIL, grade not given"), ("Vaginal HSIL", "VaIN2/3"), rank=2),
    Term("vain2", _("Vaginal HSIL (VaIN2)"), ("VaIN2", "VaIN II"), rank=2),
    Term("vain3", _("Vaginal HSIL (VaIN3)"), ("VaIN3", "VaIN III"), rank=3),
    Term(
        "vagina_cancer",
        _("Vaginal carcinoma"),
        ("Vaginal carcinoma", "Vaginal cancer", "Squamous cell carcinoma of the vagina"),
        rank=4,
    ),
    Term("vin1", _("Vulvar LSIL (VIN1)"), ("VIN1", "VIN I", "Vulvar LSIL", "Vulval LSIL"), rank=1),
    Term(
        "vin_hsil",
        _("Vulvar HSIL, grade not given"),
        ("Vulvar HSIL", "Vulval HSIL", "VIN2/3", "Usual-type VIN", "uVIN"),
        rank=2,
    ),
    Term("vin2", _("Vulvar HSIL (VIN2)"), ("VIN2", "VIN II"), rank=2),
    Term("vin3", _("Vulvar HSIL (VIN3)"), ("VIN3", "VIN III"), rank=3),
    Term(
        "dvin",
        _("Differentiated VIN (HPV-independent)"),
        ("dVIN", "Differentiated VIN", "Differentiated vulvar intraepithelial neoplasia"),
        rank=3,
    ),
    Term(
        "vulva_cancer",
        _("Vulvar carcinoma"),
        (
            "Vulvar carcinoma",
            "Vulval carcinoma",
            "Vulvar cancer",
            "Squamous cell carcinoma of the vulva",
        ),
        rank=4,
    ),
    source=LAST_WHO_2020,
)
# A lesion graded in cervical terms but placed in the vagina or vulva ("HSIL of the vagina").
OTHER_SITE_OF = {
    "vagina": {
        "cin1": "vain1",
        "lsil_hpv": "vain1",
        "hsil": "vain_hsil",
        "cin2": "vain2",
        "cin3": "vain3",
        "scc": "vagina_cancer",
        "scc_microinvasive": "vagina_cancer",
        "carcinoma": "vagina_cancer",
    },
    "vulva": {
        "cin1": "vin1",
        "lsil_hpv": "vin1",
        "hsil": "vin_hsil",
        "cin2": "vin2",
        "cin3": "vin3",
        "scc": "vulva_cancer",
        "scc_microinvasive": "vulva_cancer",
        "carcinoma": "vulva_cancer",
    },
}
