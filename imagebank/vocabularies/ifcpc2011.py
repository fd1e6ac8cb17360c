"""The 2011 colposcopic terminology of the cervix of the International Federation for Cervical
Pathology and Colposcopy (Bornstein J, Bentley J, Bösze P, et al. Obstet Gynecol
2012;120(1):166-172), all of it:

- general assessment: adequate or inadequate for a reason (inflammation, bleeding, scar);
  squamocolumnar junction completely, partially or not visible; transformation zone types 1-3;
- normal colposcopic findings: original squamous epithelium (mature, atrophic), columnar
  epithelium (ectopy), metaplastic squamous epithelium (Nabothian cysts, crypt openings),
  deciduosis in pregnancy;
- abnormal findings, general principles: location inside or outside the T-zone, clock position,
  number of quadrants, size in percentage of the cervix;
- grade 1 (minor) and grade 2 (major) findings, non-specific findings (leukoplakia, erosion,
  Lugol's staining), findings suspicious for invasion (atypical vessels and the additional signs);
- miscellaneous findings (congenital transformation zone, condyloma, polyp, inflammation,
  stenosis, congenital anomaly, post-treatment consequence, endometriosis).

One addition, marked where it stands: the "rag sign" that the IARC colposcopy atlas and the IARC
image bank list beside the grade 2 findings. The bins of the lesion's extent are the IARC image
bank's.
"""

from django.utils.translation import gettext_lazy as _

from .terms import Term, vocabulary

IFCPC_2011 = (
    "IFCPC 2011 colposcopic terminology of the cervix (Bornstein et al., Obstet Gynecol 2012)"
)

ADEQUACY = vocabulary(
    "adequacy",
    Term("adequate", _("Adequate"), ("Adequate examination",)),
    Term("inadequate", _("Inadequate"), ("Inadequate examination", "Not adequate")),
    source=IFCPC_2011,
)
INADEQUACY_REASON = vocabulary(
    "inadequacy_reason",
    Term("inflammation", _("Inflammation"), ("Cervix obscured by inflammation", "Cervicitis")),
    Term("bleeding", _("Bleeding"), ("Cervix obscured by bleeding", "Blood", "Bleeding cervix")),
    Term("scar", _("Scar"), ("Scarring", "Cervix obscured by scar", "Scar tissue")),
    Term("other", _("Other")),
    source=IFCPC_2011,
)
SCJ_VISIBILITY = vocabulary(
    "scj_visibility",
    Term(
        "completely_visible",
        _("Completely visible"),
        ("Fully visible", "Visible", "Completely seen", "Fully seen", "Entirely visible"),
    ),
    Term(
        "partially_visible",
        _("Partially visible"),
        ("Partly visible", "Partially seen", "Incompletely visible"),
    ),
    Term("not_visible", _("Not visible"), ("Not seen", "Invisible")),
    source=IFCPC_2011,
)
TRANSFORMATION_ZONE = vocabulary(
    "transformation_zone",
    Term(
        "type_1",
        _("Type 1"),
        (
            "TZ type 1",
            "Type I",
            "1",
            "I",
            "TZ 1",
            "TZ1",
            "Type 1 TZ",
            "Type 1 transformation zone",
            "Transformation zone type 1",
            "Type I transformation zone",
            "Completely ectocervical",
        ),
    ),
    Term(
        "type_2",
        _("Type 2"),
        (
            "TZ type 2",
            "Type II",
            "2",
            "II",
            "TZ 2",
            "TZ2",
            "Type 2 TZ",
            "Type 2 transformation zone",
            "Transformation zone type 2",
            "Type II transformation zone",
        ),
    ),
    Term(
        "type_3",
        _("Type 3"),
        (
            "TZ type 3",
            "Type III",
            "3",
            "III",
            "TZ 3",
            "TZ3",
            "Type 3 TZ",
            "Type 3 transformation zone",
            "Transformation zone type 3",
            "Type III transformation zone",
        ),
    ),
    source=IFCPC_2011,
)
NORMAL_FINDINGS = vocabulary(
    "normal_findings",
    Term(
        "squamous_mature",
        _("Original squamous epithelium: mature"),
        ("Mature", "Mature squamous epithelium", "Mature original squamous epithelium"),
    ),
    Term(
        "squamous_atrophic",
        _("Original squamous epithelium: atrophic"),
        ("Atrophic", "Atrophic squamous epithelium", "Atrophy"),
    ),
    Term(
        "columnar_ectopy_present",
        _("Columnar epithelium: ectopy present"),
        ("Ectopy present", "Ectopy", "Ectropion", "Columnar ectopy"),
    ),
    Term("columnar_ectopy_absent", _("Columnar epithelium: ectopy absent"), ("Ectopy absent",)),
    Term(
        "metaplastic_nabothian_cysts",
        _("Metaplastic squamous epithelium: Nabothian cysts"),
        ("Nabothian cysts", "Nabothian cyst", "Nabothian follicles"),
    ),
    Term(
        "metaplastic_crypt_openings",
        _("Metaplastic squamous epithelium: crypt (gland) openings"),
        ("Crypt (gland) openings", "Crypt openings", "Gland openings"),
    ),
    Term(
        "deciduosis_pregnancy",
        _("Deciduosis in pregnancy"),
        ("Deciduosis", "Decidualisation", "Decidualization"),
    ),
    source=IFCPC_2011,
)
LESION_LOCATION = vocabulary(
    "lesion_location",
    Term(
        "inside_tz",
        _("Inside the transformation zone"),
        ("Inside the T-zone", "Inside TZ", "Within the T-zone", "Within the TZ"),
    ),
    Term(
        "outside_tz",
        _("Outside the transformation zone"),
        ("Outside the T-zone", "Outside TZ", "Outside the TZ"),
    ),
    Term(
        "inside_and_outside_tz",
        _("Inside and outside the transformation zone"),
        ("Inside and outside the T-zone", "Inside and outside TZ", "Both inside and outside"),
    ),
    source=IFCPC_2011,
)
LESION_EXTENT = vocabulary(
    "lesion_extent",
    # xgettext:no-python-format (a percentage, not a placeholder)
    Term("lt_25", _("Less than 25% of the cervix"), ("< 25%", "Less than 25%", "0-25%")),
    # xgettext:no-python-format (a percentage, not a placeholder)
    Term("25_50", _("25-50% of the cervix"), ("25-50%", "25 to 50%")),
    # xgettext:no-python-format (a percentage, not a placeholder)
    Term("50_75", _("50-75% of the cervix"), ("50-75%", "50 to 75%")),
    # xgettext:no-python-format (a percentage, not a placeholder)
    Term("gt_75", _("More than 75% of the cervix"), ("> 75%", "More than 75%", "75-100%")),
    source=IFCPC_2011 + "; bins of the IARC Cervical Cancer Image Bank",
)
GRADE_1_FINDINGS = vocabulary(
    "grade_1_findings",
    Term("thin_acetowhite", _("Thin acetowhite epithelium"), ("Thin acetowhite",)),
    Term(
        "irregular_border",
        _("Irregular, geographic border"),
        ("Irregular border", "Geographic border", "Geographical border", "Irregular margin"),
    ),
    Term("fine_mosaic", _("Fine mosaic")),
    Term("fine_punctation", _("Fine punctation"), ("Fine punctuation",)),
    source=IFCPC_2011,
)
GRADE_2_FINDINGS = vocabulary(
    "grade_2_findings",
    Term("dense_acetowhite", _("Dense acetowhite epithelium"), ("Dense acetowhite",)),
    Term(
        "rapid_acetowhitening",
        _("Rapid appearance of acetowhitening"),
        ("Rapid acetowhitening", "Rapid appearance of acetowhite"),
    ),
    Term(
        "cuffed_crypt_openings",
        _("Cuffed crypt (gland) openings"),
        ("Cuffed crypt openings", "Cuffed gland openings"),
    ),
    Term("coarse_mosaic", _("Coarse mosaic")),
    Term("coarse_punctation", _("Coarse punctation"), ("Coarse punctuation",)),
    Term(
        "sharp_border",
        _("Sharp border"),
        ("Sharp margin", "Distinct margin", "Distinct border", "Sharp borders"),
    ),
    Term("inner_border_sign", _("Inner border sign"), ("Inner border", "Internal border")),
    Term("ridge_sign", _("Ridge sign"), ("Ridge",)),
    # Not in IFCPC 2011: the IARC atlas and image bank list the peeling ("rag") of the
    # acetowhite epithelium among the major findings.
    Term("rag_sign", _("Rag sign (IARC)"), ("Rag sign", "Peeling epithelium")),
    source=IFCPC_2011 + "; rag sign from the IARC colposcopy atlas",
)
NON_SPECIFIC_FINDINGS = vocabulary(
    "non_specific_findings",
    Term(
        "leukoplakia",
        _("Leukoplakia (keratosis, hyperkeratosis)"),
        ("Leukoplakia", "Keratosis", "Hyperkeratosis"),
    ),
    Term("erosion", _("Erosion")),
    Term(
        "iodine_stained",
        _("Lugol's iodine: stained"),
        (
            "Lugol's staining (Schiller's test): stained",
            "Lugol's staining: stained",
            "Iodine (stained)",
            "Iodine stained",
            "Lugol stained",
            "Iodine positive",
            "Schiller negative",
        ),
    ),
    Term(
        "iodine_non_stained",
        _("Lugol's iodine: non-stained"),
        (
            "Lugol's staining (Schiller's test): non-stained",
            "Lugol's staining: non-stained",
            "Iodine (non-stained)",
            "Iodine non-stained",
            "Iodine unstained",
            "Lugol non-stained",
            "Iodine negative",
            "Schiller positive",
            "Iodine non-uptake",
        ),
    ),
    source=IFCPC_2011,
)
SUSPICIOUS_FOR_INVASION_FINDINGS = vocabulary(
    "suspicious_for_invasion_findings",
    Term("atypical_vessels", _("Atypical vessels")),
    Term("fragile_vessels", _("Fragile vessels")),
    Term("irregular_surface", _("Irregular surface")),
    Term("exophytic_lesion", _("Exophytic lesion"), ("Exophytic growth",)),
    Term("necrosis", _("Necrosis")),
    Term("ulceration", _("Ulceration (necrotic)"), ("Ulceration", "Ulcer", "Necrotic ulceration")),
    Term(
        "gross_neoplasm",
        _("Tumour / gross neoplasm"),
        ("Tumor", "Tumour", "Gross neoplasm", "Gross tumour", "Gross tumor"),
    ),
    source=IFCPC_2011,
)
MISCELLANEOUS_FINDINGS = vocabulary(
    "miscellaneous_findings",
    Term("congenital_tz", _("Congenital transformation zone")),
    Term("condyloma", _("Condyloma"), ("Condylomata", "Condyloma acuminatum")),
    Term("polyp_ectocervical", _("Polyp (ectocervical)"), ("Ectocervical polyp",)),
    Term("polyp_endocervical", _("Polyp (endocervical)"), ("Endocervical polyp",)),
    Term("inflammation", _("Inflammation"), ("Cervicitis",)),
    Term("stenosis", _("Stenosis"), ("Cervical stenosis",)),
    Term("congenital_anomaly", _("Congenital anomaly")),
    Term(
        "post_treatment_consequence",
        _("Post-treatment consequence"),
        ("Post-treatment changes", "Post treatment change"),
    ),
    Term("endometriosis", _("Endometriosis"), ("Cervical endometriosis",)),
    source=IFCPC_2011,
)

# Findings stored as lists of codes on a case, keyed by field name.
FINDING_LISTS = {
    "normal_findings": NORMAL_FINDINGS,
    "grade_1_findings": GRADE_1_FINDINGS,
    "grade_2_findings": GRADE_2_FINDINGS,
    "non_specific_findings": NON_SPECIFIC_FINDINGS,
    "suspicious_for_invasion_findings": SUSPICIOUS_FOR_INVASION_FINDINGS,
    "miscellaneous_findings": MISCELLANEOUS_FINDINGS,
}
