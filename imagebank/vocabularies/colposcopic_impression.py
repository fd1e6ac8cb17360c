"""The colposcopist's impression (provisional diagnosis) and the management decided.

The impression uses the categories of the IARC colposcopy manuals (Sellors & Sankaranarayanan,
IARC 2003; IARC Technical Report 45, 2017) in the two-tier squamous terminology of LAST (Darragh
et al. 2012): normal; inflammation; another benign finding (the IFCPC 2011 miscellaneous findings:
congenital transformation zone, polyp, endometriosis …); low-grade lesion (LSIL, including
condyloma and subclinical papillomavirus infection, which LAST classes as LSIL); high-grade lesion
(HSIL); glandular lesion (adenocarcinoma in situ suspected); suspicious for invasive cancer.
Ranks order them by severity: an impression naming several is coded by the worst, and the
transformation-zone type that IARC writes in front of it ("Type 3 transformation zone; …") is read
into the TZ field.

Management follows the options of the WHO 2021 guideline and IARC Technical Report 45: routine
screening, follow-up or a repeat test, biopsy, ablation (thermal ablation, cryotherapy, laser),
excision (LLETZ/LEEP of IFCPC 2011 types 1-3, cone), referral, or leaving screening.
"""

from django.utils.translation import gettext_lazy as _

from .terms import Term, vocabulary

IARC_COLPOSCOPY = (
    "IARC colposcopy manuals (2003; Technical Report 45, 2017), LAST (Darragh et al. 2012), "
    "IFCPC 2011"
)
WHO_MANAGEMENT = "WHO 2021 screening and treatment guideline; IARC Technical Report 45 (2017)"

PROVISIONAL_DIAGNOSIS = vocabulary(
    "provisional_diagnosis",
    Term(
        "normal",
        _("Normal"),
        (
            "Negative",
            "Normal colposcopy",
            "Normal findings",
            "Normal colposcopic findings",
            "No lesion",
            "No abnormality",
            "No abnormality detected",
            "Benign",
            "Within normal limits",
            "Normal cervix",
            "Mature squamous epithelium",
            "Ectopy",
            "Ectropion",
            "Nabothian cysts",
            "Atrophic cervix",
            "Atrophy",
        ),
        rank=0,
    ),
    Term(
        "other",
        _("Other benign finding"),
        (
            "Congenital transformation zone",
            "Polyp",
            "Cervical polyp",
            "Endocervical polyp",
            "Ectocervical polyp",
            "Endometriosis",
            "Cervical endometriosis",
            "Stenosis",
            "Leukoplakia",
            "Post-treatment changes",
            "Post-treatment consequence",
            "Congenital anomaly",
            "Deciduosis",
        ),
        rank=1,
    ),
    Term(
        "inflammation",
        _("Inflammation / cervicitis"),
        ("Cervicitis", "Inflammatory", "Infection", "Erosion"),
        rank=1,
    ),
    Term(
        "lsil",
        _("Low-grade lesion (LSIL / CIN1)"),
        (
            "LSIL",
            "CIN1",
            "LSIL-CIN1",
            "Low grade",
            "Low-grade lesion",
            "Low-grade squamous intraepithelial lesion",
            "Low grade SIL",
            "Minor change",
            "Minor changes",
            "Condyloma",
            "Condylomata",
            "Subclinical papillomavirus infection",
            "Subclinical papilloma virus infection",
            "SPI",
            "HPV changes",
            "HPV infection",
        ),
        rank=2,
    ),
    Term(
        "hsil",
        _("High-grade lesion (HSIL / CIN2+)"),
        (
            "HSIL",
            "CIN2+",
            "CIN2",
            "CIN3",
            "CIN2/3",
            "High grade",
            "High-grade lesion",
            "High-grade squamous intraepithelial lesion",
            "High grade SIL",
            "Major change",
            "Major changes",
        ),
        rank=3,
    ),
    Term(
        "glandular",
        _("Glandular lesion (adenocarcinoma in situ suspected)"),
        ("Adenocarcinoma in situ", "AIS", "Glandular lesion", "CGIN"),
        rank=3,
    ),
    Term(
        "invasive_cancer",
        _("Suspicious for invasive cancer"),
        (
            "Invasive cancer",
            "Cancer",
            "Suspected invasive cancer",
            "Suspicion of invasive cancer",
            "Suspicious for invasion",
            "Invasion",
            "Invasive",
            "Early invasive cancer",
            "Microinvasive",
            "Carcinoma",
            "Squamous cell carcinoma",
            "Adenocarcinoma",
            "Malignancy",
            "Malignant",
            "Tumour",
            "Tumor",
            "Growth",
        ),
        rank=4,
    ),
    source=IARC_COLPOSCOPY,
)

MANAGEMENT = vocabulary(
    "management",
    Term(
        "no_further_screening",
        _("No further screening"),
        ("No further screening is required", "Exit from screening", "Discharge from screening"),
        rank=0,
    ),
    Term(
        "routine_screening",
        _("Routine screening"),
        (
            "Routine screening after 5 years",
            "Routine screening after 3 years",
            "Routine screening",
            "Back to routine screening",
            "Rescreen",
        ),
        rank=0,
    ),
    Term(
        "repeat_in_1_year",
        _("Repeat HPV test / colposcopy after 1 year"),
        (
            "Repeat HPV test/colposcopy after 1 year",
            "Repeat after 1 year",
            "Repeat in 1 year",
            "Repeat HPV test after 1 year",
            "Repeat colposcopy after 1 year",
            "Repeat in 12 months",
        ),
        rank=1,
    ),
    Term(
        "follow_up",
        _("Follow-up (other interval)"),
        ("Follow up", "Follow-up visit", "Repeat", "Review", "Repeat colposcopy", "Surveillance"),
        rank=1,
    ),
    Term(
        "biopsy",
        _("Biopsy"),
        (
            "Punch biopsy",
            "Punch biopsy may be done from lesion to exclude LSIL-CIN1",
            "Multiple punch biopsies",
            "Directed biopsy",
            "Colposcopy-directed biopsy",
            "Endocervical curettage",
            "ECC",
            "Biopsied",
        ),
        rank=2,
    ),
    Term(
        "ablation",
        _("Ablative treatment (thermal ablation or cryotherapy)"),
        (
            "Thermal ablation",
            "Thermocoagulation",
            "Cold coagulation",
            "Thermal coagulation",
            "Cryotherapy",
            "Cryo",
            "Laser ablation",
            "Laser vaporisation",
            "Laser vaporization",
            "Ablative treatment",
            "Ablation",
        ),
        rank=3,
    ),
    Term(
        "excision",
        _("Excisional treatment (LEEP / LLETZ / cone)"),
        (
            "LEEP",
            "LLETZ",
            "LETZ",
            "Conisation",
            "Conization",
            "Cone biopsy",
            "Excisional biopsy",
            "Cold knife cone",
            "Cold knife conisation",
            "Large loop excision of the transformation zone",
            "Loop electrosurgical excision procedure",
            "Excision",
            "Type 1 excision",
            "Type 2 excision",
            "Type 3 excision",
            "Excisional treatment",
        ),
        rank=4,
    ),
    Term(
        "referral",
        _("Referral for further management"),
        (
            "Referral",
            "Refer",
            "Referred",
            "Referral to oncology",
            "Referred for cancer treatment",
            "Hysterectomy",
            "Radical hysterectomy",
            "Radiotherapy",
            "Chemoradiation",
        ),
        rank=5,
    ),
    Term("other", _("Other"), rank=None),
    source=WHO_MANAGEMENT,
)
