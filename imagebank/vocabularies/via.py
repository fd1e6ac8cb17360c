"""Visual inspection with acetic acid (VIA): its result, the acetowhite area, and ablation.

The result categories are those of the WHO and IARC manuals (Sankaranarayanan R, Wesley RS. A
practical manual on visual screening for cervical neoplasia. IARC Technical Publication No. 41,
2003; WHO guidelines for screening and treatment of precancerous lesions, 2013 and 2021): VIA
negative, VIA positive, suspicious for (invasive) cancer. The acetowhite area is described as
the IARC VIA image bank describes it (presence, colour, margin, surface, location relative to the
transformation zone and the os, size relative to the ectocervix), with the squamocolumnar
junction's location; eligibility for ablative treatment follows WHO's criteria (lesion fully
visible, not more than 75% of the ectocervix, not into the canal, no suspicion of cancer).
"""

from django.utils.translation import gettext_lazy as _

from .terms import Term, vocabulary

IARC_VIA = (
    "IARC Technical Publication 41 (Sankaranarayanan & Wesley 2003); IARC VIA image bank; "
    "WHO screening and treatment guidelines (2013, 2021)"
)

VIA_RESULT = vocabulary(
    "via_result",
    Term(
        "negative",
        _("VIA negative"),
        ("Negative", "VIA-", "VIA -ve", "VIA-negative", "Test negative", "VIA neg"),
        rank=0,
    ),
    Term(
        "positive",
        _("VIA positive"),
        ("Positive", "VIA+", "VIA +ve", "VIA-positive", "Test positive", "VIA pos"),
        rank=1,
    ),
    Term(
        "suspicious_for_cancer",
        _("Suspicious for cancer"),
        (
            "Suspicious cancer",
            "Suspicious of cancer",
            "Suspected cancer",
            "Suspicious for invasive cancer",
            "Suspicious of invasive cancer",
            "Suspicion of cancer",
            "Suspicious for cervical cancer",
            "Invasive cancer suspected",
            "Cancer suspected",
            "VIA positive, suspicious for cancer",
        ),
        rank=2,
    ),
    source=IARC_VIA,
)
SCJ_LOCATION = vocabulary(
    "scj_location",
    Term("ectocervix", _("On the ectocervix"), ("On ectocervix", "Ectocervical")),
    Term(
        "ecto_and_endocervix",
        _("Partly on the ectocervix, partly endocervical"),
        (
            "Partly on ectocervix and partly on endocervix",
            "Partly on the ectocervix and partly in the endocervix",
            "Partly ectocervical",
        ),
    ),
    Term(
        "endocervix",
        _("In the endocervix"),
        ("On endocervix", "Endocervical", "In the endocervical canal", "Inside the canal"),
    ),
    source=IARC_VIA,
)
ACETOWHITE_AREA = vocabulary(
    "acetowhite_area",
    Term("present", _("Present"), ("Yes", "Seen", "Acetowhite area present")),
    Term("absent", _("Absent"), ("No", "None", "Not seen", "No acetowhite area")),
    source=IARC_VIA,
)
ACETOWHITE_COLOUR = vocabulary(
    "acetowhite_colour",
    Term("thin", _("Thin, faint or translucent"), ("Thin", "Faint", "Translucent", "Pale")),
    Term(
        "dense",
        _("Dense, thick or opaque"),
        ("Dense", "Thick", "Opaque", "Chalky white", "Oyster white", "Dull white"),
    ),
    source=IARC_VIA,
)
ACETOWHITE_MARGIN = vocabulary(
    "acetowhite_margin",
    Term("diffuse", _("Diffuse, ill-defined"), ("Diffuse", "Ill defined", "Indistinct")),
    Term(
        "irregular",
        _("Sharp but irregular (feathery, geographic)"),
        ("Sharp but irregular", "Irregular", "Feathery", "Geographic", "Angular"),
    ),
    Term(
        "well_defined",
        _("Sharp and regular (well-defined)"),
        ("Sharp and regular", "Well defined", "Sharp", "Distinct", "Regular", "Sharp and even"),
    ),
    Term(
        "sharp_raised",
        _("Sharp and raised"),
        ("Sharp and raised", "Raised", "Raised margins", "Rolled"),
    ),
    source=IARC_VIA,
)
ACETOWHITE_SURFACE = vocabulary(
    "acetowhite_surface",
    Term("smooth", _("Smooth, flat"), ("Smooth", "Flat", "Regular")),
    Term(
        "irregular",
        _("Irregular, raised or nodular"),
        ("Irregular", "Raised", "Nodular", "Uneven", "Cauliflower-like"),
    ),
    source=IARC_VIA,
)
ACETOWHITE_LOCATION = vocabulary(
    "acetowhite_location",
    Term(
        "within_tz",
        _("Within the transformation zone or close to the external os"),
        (
            "Within TZ or close to the external os (if SCJ is not visible)",
            "Within TZ",
            "Within the TZ",
            "Within the transformation zone",
            "Close to the external os",
            "Touching the SCJ",
            "Abutting the SCJ",
        ),
    ),
    Term(
        "outside_tz",
        _("Outside the transformation zone, away from the os"),
        (
            "Outside TZ",
            "Outside the TZ",
            "Away from the TZ",
            "Away from the SCJ",
            "Far from the external os",
        ),
    ),
    source=IARC_VIA,
)
ACETOWHITE_SIZE = vocabulary(
    "acetowhite_size",
    Term(
        "up_to_75",
        # xgettext:no-python-format (a percentage, not a placeholder)
        _("Covering up to 75% of the ectocervix"),
        (
            "Covering less than 75% of ectocervix",
            "Covering 75% or less of ectocervix",
            "Less than 75%",
            "< 75%",
            "Up to 75%",
        ),
    ),
    Term(
        "more_than_75",
        # xgettext:no-python-format (a percentage, not a placeholder)
        _("Covering more than 75% of the ectocervix"),
        ("Covering more than 75% of ectocervix", "More than 75%", "> 75%"),
    ),
    Term(
        "into_canal",
        _("Extending into the endocervical canal"),
        ("Extending into the endocervical canal", "Extending into the canal", "Into the canal"),
    ),
    source=IARC_VIA,
)
ABLATION_ELIGIBILITY = vocabulary(
    "ablation_eligibility",
    Term(
        "eligible",
        _("Eligible for ablative treatment"),
        ("Eligible for ablation", "Eligible", "Yes", "Eligible for thermal ablation"),
    ),
    Term(
        "not_eligible",
        _("Not eligible for ablative treatment"),
        ("Not eligible", "No", "Not eligible for ablation", "Ineligible"),
    ),
    source=IARC_VIA,
)
