"""The Swede score: five colposcopic signs of 0-2 points each, summed to 0-10.

Strander B, Ellström-Andersson A, Franzén S, Milsom I, Rådberg T. The performance of a new scoring
system for colposcopy in detecting high-grade dysplasia in the uterine cervix. Acta Obstet Gynecol
Scand 2005;84(10):1013-1017. Its published descriptors, and their points:

- aceto uptake: 0 zero or transparent; 1 shady, milky (not transparent, not opaque);
  2 distinct, opaque white;
- margins / surface: 0 diffuse; 1 sharp but irregular, jagged, "geographical", satellites;
  2 sharp and even, difference in surface level, including "cuffing";
- vessels: 0 fine, regular; 1 absent; 2 coarse or atypical;
- lesion size: 0 < 5 mm; 1 5-15 mm or 2 quadrants; 2 > 15 mm, 3-4 quadrants, or
  endocervically undefined;
- iodine staining: 0 brown; 1 faintly or patchy yellow; 2 distinct yellow.

The IARC image bank writes the Swedish original's words ("stearin", "nil"); those are spellings.
A sign that could not be assessed (no Lugol's iodine applied, say) is a value of its own, with no
points: the total is then not computable, as the export's sentinel "99" says.
"""

from django.utils.translation import gettext_lazy as _

from .terms import Term, vocabulary

SWEDE_2005 = "Swede score (Strander et al., Acta Obstet Gynecol Scand 2005)"
NOT_ASSESSED_SPELLINGS = (
    "Not assessed",
    "Unknown",
    "Not known",
    "Not done",
    "Not assessable",
    "Not applied",
    "Lugol not applied",
    "Iodine not applied",
)


def _not_assessed() -> Term:
    return Term("not_assessed", _("Not assessed / unknown"), NOT_ASSESSED_SPELLINGS)


SWEDE_ACETO_UPTAKE = vocabulary(
    "swede_aceto_uptake",
    Term(
        "nil_or_transparent",
        _("Zero or transparent"),
        ("Nil or transparent", "Zero", "Transparent", "Nil", "None or transparent"),
        score=0,
    ),
    Term(
        "shady_milky",
        _("Shady, milky"),
        (
            "Thin, milky",
            "Milky",
            "Shady",
            "Shady, milky (not transparent, not opaque)",
            "Not transparent, not opaque",
        ),
        score=1,
    ),
    Term(
        "distinct_stearin",
        _("Distinct, opaque white"),
        ("Distinct, stearin", "Stearin", "Distinct", "Opaque white", "Distinct, opaque"),
        score=2,
    ),
    _not_assessed(),
    source=SWEDE_2005,
)
SWEDE_MARGINS = vocabulary(
    "swede_margins",
    Term("nil_or_diffuse", _("Diffuse"), ("Nil or diffuse", "Nil", "Zero or diffuse"), score=0),
    Term(
        "sharp_irregular",
        _("Sharp but irregular, jagged, geographic, satellites"),
        (
            "Sharp but irregular",
            "Sharp but irregular, jagged, satellites",
            "Sharp but irregular, jagged, geographical, satellites",
            "Geographical",
            "Geographic",
            "Jagged",
            "Satellites",
        ),
        score=1,
    ),
    Term(
        "sharp_even",
        _("Sharp and even, difference in surface level"),
        (
            "Sharp and even",
            "Sharp and even, difference in level",
            "Sharp and even, difference in surface level, including cuffing",
            "Difference in surface level",
            "Cuffing",
        ),
        score=2,
    ),
    _not_assessed(),
    source=SWEDE_2005,
)
SWEDE_VESSELS = vocabulary(
    "swede_vessels",
    Term("fine_regular", _("Fine, regular"), ("Fine regular vessels", "Fine"), score=0),
    Term("absent", _("Absent"), ("No vessels", "Absent vessels"), score=1),
    Term(
        "coarse_or_atypical",
        _("Coarse or atypical"),
        ("Coarse", "Atypical", "Coarse or atypical vessels", "Atypical vessels", "Coarse vessels"),
        score=2,
    ),
    _not_assessed(),
    source=SWEDE_2005,
)
SWEDE_LESION_SIZE = vocabulary(
    "swede_lesion_size",
    Term("lt_5mm", _("Less than 5 mm"), ("< 5 mm", "Less than 5mm", "0-5 mm"), score=0),
    Term(
        "5_15mm",
        _("5-15 mm or two quadrants"),
        ("5-15 mm or 2 quadrants", "5-15 mm", "2 quadrants", "Two quadrants"),
        score=1,
    ),
    Term(
        "gt_15mm",
        _("More than 15 mm, three or four quadrants, or endocervically undefined"),
        (
            ">15 mm, 3-4 quadrants, or endocervically undefined",
            "> 15 mm",
            "More than 15 mm",
            "3-4 quadrants",
            "Endocervically undefined",
        ),
        score=2,
    ),
    _not_assessed(),
    source=SWEDE_2005,
)
SWEDE_IODINE_UPTAKE = vocabulary(
    "swede_iodine_uptake",
    Term("brown", _("Brown"), ("Brown, iodine uptake", "Dark brown"), score=0),
    Term(
        "faint_or_patchy_yellow",
        _("Faintly or patchy yellow"),
        ("Patchy yellow", "Faint yellow", "Faintly yellow", "Faint or patchy yellow"),
        score=1,
    ),
    Term(
        "distinct_yellow",
        _("Distinct yellow"),
        ("Distinctly yellow", "Yellow", "Mustard yellow"),
        score=2,
    ),
    _not_assessed(),
    source=SWEDE_2005,
)
SWEDE_COMPONENTS = {
    "swede_aceto_uptake": SWEDE_ACETO_UPTAKE,
    "swede_margins": SWEDE_MARGINS,
    "swede_vessels": SWEDE_VESSELS,
    "swede_lesion_size": SWEDE_LESION_SIZE,
    "swede_iodine_uptake": SWEDE_IODINE_UPTAKE,
}
SWEDE_MAX = 10
# Exports mark an unassessable Swede total with a sentinel; the bank stores "not assessable".
SWEDE_NOT_ASSESSABLE_SENTINELS = frozenset({"99", "-1", "999", "na", "n/a", "not assessable"})
