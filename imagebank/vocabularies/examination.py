"""The examination: its steps, where it happened, and the files it produced.

Steps follow the sequence of a colposcopy or VIA examination as the IARC manuals describe it
(Sellors & Sankaranarayanan, "Colposcopy and treatment of cervical intraepithelial neoplasia: a
beginners' manual", IARC 2003; Sankaranarayanan & Wesley, "A practical manual on visual screening
for cervical neoplasia", IARC Technical Publication 41, 2003; IARC "Colposcopy and treatment of
cervical precancer", Technical Report 45, 2017): native view or normal saline, acetic acid (VIA),
green (red-free) filter, Lugol's iodine (VILI). Where a wording names several ("After normal saline
with green filter"), the step of highest rank wins: the filter or stain is what the picture shows.
"""

from django.utils.translation import gettext_lazy as _

from .terms import Term, vocabulary

EXAMINATION_STEP = vocabulary(
    "examination_step",
    Term(
        "before_acetic_acid",
        _("Before acetic acid (native or saline)"),
        (
            "After normal saline",
            "After application of normal saline",
            "Before application of acetic acid",
            "Before acetic acid",
            "Before VIA",
            "Normal saline",
            "Saline",
            "Physiological saline",
            "Native",
            "Native view",
            "Unstained",
            "Plain view",
        ),
        rank=1,
    ),
    Term(
        "after_acetic_acid",
        _("After acetic acid"),
        (
            "After application of acetic acid",
            "After acetic acid with higher magnification",
            "After application of acetic acid (magnified view)",
            "After acetic acid (magnified view)",
            "Acetic acid",
            "Acetic acid 5%",
            "Acetic acid 3%",
            "VIA",
            "Visual inspection with acetic acid",
            "Acetowhite",
        ),
        rank=2,
    ),
    Term(
        "green_filter",
        _("Green filter"),
        (
            "After acetic acid with green filter",
            "After normal saline with green filter",
            "Green filter after acetic acid",
            "Green filter after saline",
            "With green filter",
            "Green light",
            "Red-free",
            "Red-free filter",
            "Red free light",
        ),
        rank=4,
    ),
    Term(
        "after_lugol",
        _("After Lugol's iodine"),
        (
            "After Lugol's iodine",
            "After application of Lugol's iodine",
            "After Lugol",
            "Lugol",
            "Lugol's iodine",
            "Lugol's solution",
            "Iodine",
            "Schiller test",
            "Schiller's test",
            "VILI",
            "Visual inspection with Lugol's iodine",
        ),
        rank=3,
    ),
    Term(
        "other",
        _("Other"),
        (
            "Speculum examination",
            "Examination with endocervical speculum",
            "Endocervical speculum",
            "Speculum",
            "Visualization of the SCJ",
            "Visualisation of the SCJ",
            "Visualization of the squamocolumnar junction",
            "Vulval examination",
            "Vaginal examination",
            "Unknown",
        ),
        rank=0,
    ),
)
# Display order of steps within an examination, used when a contributor gives no order.
STEP_ORDER = {term.code: index for index, term in enumerate(EXAMINATION_STEP.terms)}

SOURCE_FORMAT = vocabulary(
    "source_format",
    Term("jpeg", "JPEG", ("jpg", "image/jpeg")),
    Term("png", "PNG", ("image/png",)),
    Term("tiff", "TIFF", ("tif", "image/tiff")),
    Term("dicom", "DICOM", ("dcm", "application/dicom")),
)

CLINICAL_SETTING = vocabulary(
    "clinical_setting",
    Term("primary_care", _("Primary care / health centre")),
    Term("screening_programme", _("Screening programme or camp")),
    Term("district_hospital", _("District hospital")),
    Term("referral_hospital", _("Referral or university hospital")),
    Term("mobile_unit", _("Mobile unit")),
    Term("research_centre", _("Research centre")),
)

SCREENING_CONTEXT = vocabulary(
    "screening_context",
    Term("primary_screening", _("Primary screening")),
    Term("screen_positive_triage", _("Triage of a positive screening test")),
    Term("referral_abnormal_cytology", _("Referral for abnormal cytology")),
    Term("follow_up", _("Follow-up")),
    Term("post_treatment", _("Post-treatment follow-up")),
    Term("symptomatic", _("Symptomatic / clinical indication")),
    Term("unknown", _("Unknown")),
)
