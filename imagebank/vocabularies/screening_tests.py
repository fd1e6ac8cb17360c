"""The screening tests that bring a woman to colposcopy: HPV testing and cervical cytology.

Cytology: The Bethesda System for Reporting Cervical Cytology, 3rd edition (Nayar R, Wilbur DC,
eds. Springer 2015; the "Bethesda 2014" terminology). Every interpretation/result category is a
term: negative for intraepithelial lesion or malignancy (NILM, with its non-neoplastic findings
and organisms as spellings), endometrial cells in a woman of 45 or more, the squamous cell
abnormalities (ASC-US, ASC-H, LSIL, HSIL, HSIL with features suspicious for invasion, squamous
cell carcinoma), the glandular cell abnormalities (atypical endocervical, endometrial or glandular
cells NOS; atypical cells favour neoplastic; endocervical adenocarcinoma in situ; adenocarcinoma,
endocervical, endometrial, extrauterine or NOS), other malignant neoplasms, and the specimen
that is unsatisfactory for evaluation. Ranks order the results by severity, so a report that
names several ("ASC-US; AGC") is coded by the worst.

HPV: the result of a high-risk HPV test, with the partial genotyping (HPV 16/18 versus other
high-risk types) that WHO's 2021 screening guideline recommends.
"""

from django.utils.translation import gettext_lazy as _

from .terms import Term, vocabulary

BETHESDA_2014 = (
    "The Bethesda System for Reporting Cervical Cytology, 3rd ed. (Nayar & Wilbur, Springer 2015)"
)

HPV_TESTING = (
    "WHO guideline for screening and treatment of cervical pre-cancer lesions, 2nd ed. (2021)"
)

HPV_RESULT = vocabulary(
    "hpv_result",
    Term(
        "negative",
        _("Negative"),
        ("Neg", "HPV negative", "hrHPV negative", "HPV-", "Not detected", "HPV not detected"),
    ),
    Term(
        "positive",
        _("Positive (type not given)"),
        (
            "Pos",
            "HPV positive",
            "hrHPV positive",
            "HPV+",
            "Detected",
            "HPV detected",
            "High-risk HPV positive",
            "Positive for high-risk HPV",
        ),
    ),
    Term(
        "hpv16_18_positive",
        _("HPV 16/18 positive"),
        (
            "HPV16/18",
            "HPV 16/18",
            "16/18 positive",
            "HPV 16 positive",
            "HPV 18 positive",
            "HPV16 positive",
            "HPV18 positive",
            "HPV 16/18 detected",
            "Positive HPV 16/18",
        ),
    ),
    Term(
        "other_hr_positive",
        _("Other high-risk HPV positive"),
        (
            "Other hrHPV",
            "Other high-risk HPV",
            "Other HR HPV positive",
            "Non 16/18 positive",
            "Other high-risk types positive",
        ),
    ),
    Term("not_done", _("Not done"), ("Not performed", "Not tested", "ND")),
    Term("unknown", _("Unknown"), ("Not known", "Invalid", "Invalid result", "Unk")),
    source=HPV_TESTING,
)

CYTOLOGY = vocabulary(
    "cytology",
    Term(
        "nilm",
        _("NILM"),
        (
            "Negative for intraepithelial lesion or malignancy",
            "Negative",
            "Normal",
            "Within normal limits",
            "WNL",
            "Benign cellular changes",
            "Reactive cellular changes",
            "Reactive changes",
            "Inflammation",
            "Inflammatory",
            "Atrophy",
            "Trichomonas vaginalis",
            "Candida",
            "Shift in flora suggestive of bacterial vaginosis",
            "Bacterial vaginosis",
            "Actinomyces",
            "Herpes simplex virus",
            "Cytomegalovirus",
            "Glandular cells status post hysterectomy",
        ),
        rank=0,
    ),
    Term(
        "endometrial_cells",
        _("Endometrial cells (in a woman of 45 or more)"),
        ("Endometrial cells", "Benign endometrial cells", "Endometrial cells in a woman >45"),
        rank=1,
    ),
    Term(
        "asc_us",
        _("ASC-US"),
        ("ASCUS", "Atypical squamous cells of undetermined significance"),
        rank=2,
    ),
    Term(
        "lsil",
        _("LSIL"),
        ("Low-grade squamous intraepithelial lesion", "Low grade SIL", "Mild dysplasia", "CIN1"),
        rank=3,
    ),
    Term(
        "asc_h",
        _("ASC-H"),
        (
            "ASCH",
            "Atypical squamous cells, cannot exclude HSIL",
            "Atypical squamous cells cannot exclude a high-grade lesion",
        ),
        rank=4,
    ),
    Term(
        "agc",
        _("AGC (atypical glandular cells, NOS)"),
        (
            "Atypical glandular cells",
            "AGC",
            "AGC-NOS",
            "AGUS",
            "Atypical endocervical cells",
            "Atypical endometrial cells",
            "Atypical glandular cells, not otherwise specified",
            "Atypical endocervical cells NOS",
            "Atypical endometrial cells NOS",
        ),
        rank=4,
    ),
    Term(
        "hsil",
        _("HSIL"),
        (
            "High-grade squamous intraepithelial lesion",
            "High grade SIL",
            "Moderate dysplasia",
            "Severe dysplasia",
            "CIN2",
            "CIN3",
            "Carcinoma in situ",
        ),
        rank=5,
    ),
    Term(
        "agc_favour_neoplastic",
        _("AGC, favour neoplastic"),
        (
            "Atypical glandular cells, favor neoplastic",
            "Atypical glandular cells, favour neoplastic",
            "Atypical endocervical cells, favor neoplastic",
            "Atypical endocervical cells, favour neoplastic",
            "AGC-FN",
            "AGC favor neoplastic",
        ),
        rank=5,
    ),
    Term(
        "hsil_suspicious_invasion",
        _("HSIL with features suspicious for invasion"),
        ("HSIL, suspicious for invasion", "HSIL with features suspicious for invasion"),
        rank=6,
    ),
    Term(
        "ais",
        _("AIS (endocervical adenocarcinoma in situ)"),
        ("Adenocarcinoma in situ", "Endocervical adenocarcinoma in situ"),
        rank=6,
    ),
    Term(
        "scc",
        _("Squamous cell carcinoma"),
        ("SCC", "Invasive squamous cell carcinoma"),
        rank=7,
    ),
    Term("adenocarcinoma", _("Adenocarcinoma, NOS"), ("Adenocarcinoma NOS",), rank=7),
    Term(
        "adenocarcinoma_endocervical",
        _("Adenocarcinoma, endocervical"),
        ("Endocervical adenocarcinoma",),
        rank=7,
    ),
    Term(
        "adenocarcinoma_endometrial",
        _("Adenocarcinoma, endometrial"),
        ("Endometrial adenocarcinoma",),
        rank=7,
    ),
    Term(
        "adenocarcinoma_extrauterine",
        _("Adenocarcinoma, extrauterine"),
        ("Extrauterine adenocarcinoma",),
        rank=7,
    ),
    Term(
        "other_malignant",
        _("Other malignant neoplasm"),
        ("Other malignant neoplasms", "Malignant cells", "Malignancy"),
        rank=7,
    ),
    Term(
        "unsatisfactory",
        _("Unsatisfactory for evaluation"),
        ("Unsatisfactory", "Inadequate", "Inadequate specimen", "Insufficient"),
    ),
    Term("not_done", _("Not done"), ("Not performed", "ND")),
    Term("unknown", _("Unknown"), ("Not known",)),
    source=BETHESDA_2014,
)
