"""Every controlled vocabulary of the bank, in one module.

Each term has a stable `code` (what the database and the API store), a translatable `label`, and the
`spellings` that real exports use for it (the IARC image bank's spreadsheets among them), so an
importer can map free text onto a code and keep the original wording when nothing matches. Swede
score components also carry the points they contribute.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Term:
    code: str
    label: str
    spellings: tuple[str, ...] = ()
    score: int | None = None
    rank: int | None = None  # severity, in vocabularies whose terms are ordered
    grade: str = ""  # histopathology: the code of HISTOPATHOLOGY_GRADE this diagnosis has


def normalise_wording(text: str) -> str:
    """Fold the variants real exports produce: case, curly quotes, dashes and stray whitespace."""
    text = unicodedata.normalize("NFKC", str(text))
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-")
    text = text.replace("\u2014", "-")
    text = re.sub(r"\s+", " ", text).casefold()
    return re.sub(r"[\s.;:]+$", "", text).strip()


class Vocabulary:
    def __init__(self, name: str, terms: list[Term]) -> None:
        self.name = name
        self.terms = tuple(terms)
        self._by_code = {term.code: term for term in terms}
        if len(self._by_code) != len(terms):
            raise ValueError(f"duplicate code in vocabulary {name}")
        self._by_wording: dict[str, Term] = {}
        for term in terms:
            for wording in (term.code, str(term.label), *term.spellings):
                key = normalise_wording(wording)
                existing = self._by_wording.get(key)
                if existing is not None and existing.code != term.code:
                    raise ValueError(
                        f"{name}: '{wording}' spells both {existing.code} and {term.code}"
                    )
                self._by_wording[key] = term

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(term.code, term.label) for term in self.terms]

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._by_code)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._by_code

    def __getitem__(self, code: str) -> Term:
        return self._by_code[code]

    def label(self, code: str | None) -> str:
        if not code:
            return ""
        term = self._by_code.get(code)
        return str(term.label) if term else code

    def lookup(self, wording: str | None) -> Term | None:
        """The term a piece of free text names, or None when the vocabulary does not know it."""
        if wording is None:
            return None
        return self._by_wording.get(normalise_wording(wording))

    def score(self, code: str | None) -> int | None:
        return self._by_code[code].score if code in self._by_code else None


def vocabulary(name: str, *terms: Term) -> Vocabulary:
    return Vocabulary(name, list(terms))


# --- the examination --------------------------------------------------------------------------

EXAMINATION_STEP = vocabulary(
    "examination_step",
    Term(
        "before_acetic_acid",
        _("Before acetic acid (native or saline)"),
        (
            "After normal saline",
            "Before application of acetic acid",
            "Before acetic acid",
            "Normal saline",
            "Saline",
            "Native",
            "Native view",
            "Before VIA",
        ),
    ),
    Term(
        "after_acetic_acid",
        _("After acetic acid"),
        (
            "After application of acetic acid",
            "After acetic acid with higher magnification",
            "After application of acetic acid (magnified view)",
            "Acetic acid",
            "VIA",
            "After acetic acid (magnified view)",
        ),
    ),
    Term(
        "green_filter",
        _("Green filter"),
        (
            "After acetic acid with green filter",
            "After normal saline with green filter",
            "Green filter after acetic acid",
            "Green filter after saline",
            "Red-free",
        ),
    ),
    Term(
        "after_lugol",
        _("After Lugol's iodine"),
        (
            "After Lugol's iodine",
            "After application of Lugol's iodine",
            "Lugol",
            "Lugol's iodine",
            "VILI",
            "After Lugol",
        ),
    ),
    Term("other", _("Other"), ("Speculum examination", "Vulval examination", "Unknown")),
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

HPV_RESULT = vocabulary(
    "hpv_result",
    Term("negative", _("Negative"), ("Neg", "HPV negative")),
    Term("positive", _("Positive (type not given)"), ("Pos", "HPV positive", "hrHPV positive")),
    Term("hpv16_18_positive", _("HPV 16/18 positive"), ("HPV16/18", "16/18 positive")),
    Term("other_hr_positive", _("Other high-risk HPV positive"), ("Other hrHPV",)),
    Term("not_done", _("Not done"), ("Not performed",)),
    Term("unknown", _("Unknown")),
)

# The Bethesda System 2014.
CYTOLOGY = vocabulary(
    "cytology",
    Term("nilm", _("NILM"), ("Negative for intraepithelial lesion or malignancy", "Negative")),
    Term("asc_us", _("ASC-US"), ("ASCUS",)),
    Term("asc_h", _("ASC-H"), ("ASCH",)),
    Term("lsil", _("LSIL")),
    Term("hsil", _("HSIL")),
    Term("agc", _("AGC"), ("Atypical glandular cells",)),
    Term("ais", _("AIS"), ("Adenocarcinoma in situ",)),
    Term("scc", _("Squamous cell carcinoma"), ("SCC",)),
    Term("adenocarcinoma", _("Adenocarcinoma")),
    Term("unsatisfactory", _("Unsatisfactory for evaluation")),
    Term("not_done", _("Not done")),
    Term("unknown", _("Unknown")),
)

# --- IFCPC 2011 colposcopic terminology ---------------------------------------------------------

ADEQUACY = vocabulary(
    "adequacy",
    Term("adequate", _("Adequate")),
    Term("inadequate", _("Inadequate")),
)
INADEQUACY_REASON = vocabulary(
    "inadequacy_reason",
    Term("inflammation", _("Inflammation")),
    Term("bleeding", _("Bleeding")),
    Term("scar", _("Scar"), ("Scarring",)),
    Term("other", _("Other")),
)
SCJ_VISIBILITY = vocabulary(
    "scj_visibility",
    Term("completely_visible", _("Completely visible"), ("Fully visible", "Visible")),
    Term("partially_visible", _("Partially visible")),
    Term("not_visible", _("Not visible")),
)
SCJ_LOCATION = vocabulary(
    "scj_location",
    Term("ectocervix", _("On the ectocervix"), ("On ectocervix",)),
    Term(
        "ecto_and_endocervix",
        _("Partly on the ectocervix, partly endocervical"),
        ("Partly on ectocervix and partly on endocervix",),
    ),
    Term("endocervix", _("In the endocervix"), ("On endocervix", "Endocervical")),
)
TRANSFORMATION_ZONE = vocabulary(
    "transformation_zone",
    Term("type_1", _("Type 1"), ("TZ type 1", "Type I", "1")),
    Term("type_2", _("Type 2"), ("TZ type 2", "Type II", "2")),
    Term("type_3", _("Type 3"), ("TZ type 3", "Type III", "3")),
)
NORMAL_FINDINGS = vocabulary(
    "normal_findings",
    Term("squamous_mature", _("Original squamous epithelium: mature"), ("Mature",)),
    Term("squamous_atrophic", _("Original squamous epithelium: atrophic"), ("Atrophic",)),
    Term("columnar_ectopy_present", _("Columnar epithelium: ectopy present"), ("Ectopy present",)),
    Term("columnar_ectopy_absent", _("Columnar epithelium: ectopy absent"), ("Ectopy absent",)),
    Term(
        "metaplastic_nabothian_cysts",
        _("Metaplastic squamous epithelium: Nabothian cysts"),
        ("Nabothian cysts",),
    ),
    Term(
        "metaplastic_crypt_openings",
        _("Metaplastic squamous epithelium: crypt (gland) openings"),
        ("Crypt (gland) openings", "Crypt openings", "Gland openings"),
    ),
    Term("deciduosis_pregnancy", _("Deciduosis in pregnancy"), ("Deciduosis",)),
)
LESION_LOCATION = vocabulary(
    "lesion_location",
    Term("inside_tz", _("Inside the transformation zone"), ("Inside the T-zone", "Inside TZ")),
    Term("outside_tz", _("Outside the transformation zone"), ("Outside the T-zone", "Outside TZ")),
    Term(
        "inside_and_outside_tz",
        _("Inside and outside the transformation zone"),
        ("Inside and outside the T-zone",),
    ),
)
LESION_EXTENT = vocabulary(
    "lesion_extent",
    Term("lt_25", _("Less than 25% of the cervix"), ("< 25%", "<25%")),
    Term("25_50", _("25-50% of the cervix"), ("25-50%", "25 - 50%")),
    Term("50_75", _("50-75% of the cervix"), ("50-75%", "50 - 75%")),
    Term("gt_75", _("More than 75% of the cervix"), ("> 75%", ">75%")),
)
GRADE_1_FINDINGS = vocabulary(
    "grade_1_findings",
    Term("thin_acetowhite", _("Thin acetowhite epithelium")),
    Term(
        "irregular_border",
        _("Irregular, geographic border"),
        ("Irregular border", "Geographic border"),
    ),
    Term("fine_mosaic", _("Fine mosaic")),
    Term("fine_punctation", _("Fine punctation")),
)
GRADE_2_FINDINGS = vocabulary(
    "grade_2_findings",
    Term("dense_acetowhite", _("Dense acetowhite epithelium")),
    Term("rapid_acetowhitening", _("Rapid appearance of acetowhitening")),
    Term("cuffed_crypt_openings", _("Cuffed crypt (gland) openings"), ("Cuffed crypt openings",)),
    Term("coarse_mosaic", _("Coarse mosaic")),
    Term("coarse_punctation", _("Coarse punctation")),
    Term("sharp_border", _("Sharp border")),
    Term("inner_border_sign", _("Inner border sign")),
    Term("ridge_sign", _("Ridge sign")),
)
NON_SPECIFIC_FINDINGS = vocabulary(
    "non_specific_findings",
    Term("leukoplakia", _("Leukoplakia (keratosis, hyperkeratosis)"), ("Leukoplakia",)),
    Term("erosion", _("Erosion")),
    Term("iodine_stained", _("Lugol's iodine: stained"), ("Iodine (stained)",)),
    Term("iodine_non_stained", _("Lugol's iodine: non-stained"), ("Iodine (non-stained)",)),
)
SUSPICIOUS_FOR_INVASION_FINDINGS = vocabulary(
    "suspicious_for_invasion_findings",
    Term("atypical_vessels", _("Atypical vessels")),
    Term("fragile_vessels", _("Fragile vessels")),
    Term("irregular_surface", _("Irregular surface")),
    Term("exophytic_lesion", _("Exophytic lesion")),
    Term("necrosis", _("Necrosis")),
    Term("ulceration", _("Ulceration (necrotic)"), ("Ulceration",)),
    Term("gross_neoplasm", _("Tumour / gross neoplasm"), ("Tumor", "Tumour", "Gross neoplasm")),
)
MISCELLANEOUS_FINDINGS = vocabulary(
    "miscellaneous_findings",
    Term("congenital_tz", _("Congenital transformation zone")),
    Term("condyloma", _("Condyloma")),
    Term("polyp_ectocervical", _("Polyp (ectocervical)")),
    Term("polyp_endocervical", _("Polyp (endocervical)")),
    Term("inflammation", _("Inflammation")),
    Term("stenosis", _("Stenosis")),
    Term("congenital_anomaly", _("Congenital anomaly")),
    Term("post_treatment_consequence", _("Post-treatment consequence")),
    Term("endometriosis", _("Endometriosis")),
)

# --- Swede score (Strander et al. 2005): five components of 0-2 points each --------------------

SWEDE_ACETO_UPTAKE = vocabulary(
    "swede_aceto_uptake",
    Term("nil_or_transparent", _("Zero or transparent"), ("Nil or transparent", "Zero"), score=0),
    Term("shady_milky", _("Shady, milky"), ("Thin, milky", "Milky"), score=1),
    Term(
        "distinct_stearin", _("Distinct, opaque white"), ("Distinct, stearin", "Stearin"), score=2
    ),
)
SWEDE_MARGINS = vocabulary(
    "swede_margins",
    Term("nil_or_diffuse", _("Diffuse"), ("Nil or diffuse",), score=0),
    Term(
        "sharp_irregular",
        _("Sharp but irregular, jagged, geographic, satellites"),
        ("Sharp but irregular", "Geographical"),
        score=1,
    ),
    Term(
        "sharp_even", _("Sharp and even, difference in surface level"), ("Sharp and even",), score=2
    ),
)
SWEDE_VESSELS = vocabulary(
    "swede_vessels",
    Term("fine_regular", _("Fine, regular"), score=0),
    Term("absent", _("Absent"), score=1),
    Term("coarse_or_atypical", _("Coarse or atypical"), ("Coarse", "Atypical"), score=2),
)
SWEDE_LESION_SIZE = vocabulary(
    "swede_lesion_size",
    Term("lt_5mm", _("Less than 5 mm"), ("< 5 mm", "<5 mm", "<5mm"), score=0),
    Term("5_15mm", _("5-15 mm or two quadrants"), ("5-15 mm or 2 quadrants", "5-15 mm"), score=1),
    Term(
        "gt_15mm",
        _("More than 15 mm, three or four quadrants, or endocervically undefined"),
        (">15 mm, 3-4 quadrants, or endocervically undefined", "> 15 mm"),
        score=2,
    ),
)
SWEDE_IODINE_UPTAKE = vocabulary(
    "swede_iodine_uptake",
    Term("brown", _("Brown"), score=0),
    Term("faint_or_patchy_yellow", _("Faintly or patchy yellow"), ("Patchy yellow",), score=1),
    Term("distinct_yellow", _("Distinct yellow"), score=2),
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

# --- results and outcomes ----------------------------------------------------------------------

VIA_RESULT = vocabulary(
    "via_result",
    Term("negative", _("VIA negative"), ("Negative", "VIA-")),
    Term("positive", _("VIA positive"), ("Positive", "VIA+")),
    Term(
        "suspicious_for_cancer",
        _("Suspicious for cancer"),
        ("Suspicious cancer", "Suspected cancer"),
    ),
)
# VIA (visual inspection with acetic acid): the acetowhite area as the IARC VIA bank describes it.
ACETOWHITE_AREA = vocabulary(
    "acetowhite_area",
    Term("present", _("Present"), ("Yes", "Seen")),
    Term("absent", _("Absent"), ("No", "None", "Not seen")),
)
ACETOWHITE_COLOUR = vocabulary(
    "acetowhite_colour",
    Term("thin", _("Thin, faint or translucent"), ("Thin", "Faint", "Translucent", "Pale")),
    Term("dense", _("Dense, thick or opaque"), ("Dense", "Thick", "Opaque", "Chalky white")),
)
ACETOWHITE_MARGIN = vocabulary(
    "acetowhite_margin",
    Term("diffuse", _("Diffuse, ill-defined"), ("Diffuse", "Ill defined", "Ill-defined")),
    Term("well_defined", _("Well-defined, sharp"), ("Well defined", "Sharp", "Distinct")),
    Term("irregular", _("Irregular, feathery or geographic"), ("Irregular", "Feathery")),
)
ACETOWHITE_SURFACE = vocabulary(
    "acetowhite_surface",
    Term("smooth", _("Smooth, flat"), ("Smooth", "Flat")),
    Term("irregular", _("Irregular, raised or nodular"), ("Irregular", "Raised", "Nodular")),
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
            "Close to the external os",
            "Touching the SCJ",
        ),
    ),
    Term(
        "outside_tz",
        _("Outside the transformation zone, away from the os"),
        ("Outside TZ", "Outside the TZ", "Away from the SCJ", "Far from the external os"),
    ),
)
ACETOWHITE_SIZE = vocabulary(
    "acetowhite_size",
    Term(
        "up_to_75",
        _("Covering up to 75% of the ectocervix"),
        (
            "Covering less than 75% of ectocervix",
            "Covering 75% or less of ectocervix",
            "Less than 75%",
            "< 75%",
        ),
    ),
    Term(
        "more_than_75",
        _("Covering more than 75% of the ectocervix"),
        ("Covering more than 75% of ectocervix", "More than 75%", "> 75%"),
    ),
    Term(
        "into_canal",
        _("Extending into the endocervical canal"),
        ("Extending into the endocervical canal", "Extending into the canal", "Into the canal"),
    ),
)
ABLATION_ELIGIBILITY = vocabulary(
    "ablation_eligibility",
    Term("eligible", _("Eligible for ablative treatment"), ("Eligible for ablation", "Eligible")),
    Term("not_eligible", _("Not eligible for ablative treatment"), ("Not eligible",)),
)
PROVISIONAL_DIAGNOSIS = vocabulary(
    "provisional_diagnosis",
    Term(
        "normal",
        _("Normal"),
        (
            "Type 1 transformation zone; normal",
            "Type 2 transformation zone; normal",
            "Type 3 transformation zone; normal",
            "Negative",
        ),
    ),
    Term("inflammation", _("Inflammation / cervicitis"), ("Cervicitis",)),
    Term("lsil", _("Low-grade lesion (LSIL / CIN1)"), ("LSIL", "CIN1", "LSIL-CIN1", "Low grade")),
    Term(
        "hsil",
        _("High-grade lesion (HSIL / CIN2+)"),
        ("HSIL", "CIN2+", "CIN2", "CIN3", "High grade"),
    ),
    Term("invasive_cancer", _("Suspected invasive cancer"), ("Invasive cancer", "Cancer")),
    Term("other", _("Other")),
)
MANAGEMENT = vocabulary(
    "management",
    Term(
        "routine_screening",
        _("Routine screening"),
        ("Routine screening after 5 years", "Routine screening after 3 years"),
    ),
    Term(
        "repeat_in_1_year",
        _("Repeat HPV test / colposcopy after 1 year"),
        ("Repeat HPV test/colposcopy after 1 year", "Repeat after 1 year"),
    ),
    Term(
        "biopsy",
        _("Punch biopsy"),
        ("Punch biopsy may be done from lesion to exclude LSIL-CIN1", "Biopsy", "Punch biopsy"),
    ),
    Term(
        "ablation",
        _("Ablative treatment (thermal ablation or cryotherapy)"),
        ("Thermal ablation", "Cryotherapy", "Thermocoagulation"),
    ),
    Term(
        "excision", _("Excisional treatment (LEEP / LLETZ / cone)"), ("LEEP", "LLETZ", "Conisation")
    ),
    Term("referral", _("Referral for further management"), ("Referral",)),
    Term("other", _("Other")),
)
HISTOPATHOLOGY = vocabulary(
    "histopathology",
    Term("not_done", _("Not done"), ("Not performed", "ND"), grade="not_done"),
    Term("normal", _("Normal / negative"), ("Normal", "Negative", "No CIN"), grade="normal"),
    Term("cervicitis", _("Cervicitis"), ("Chronic cervicitis", "Inflammation"), grade="normal"),
    Term("cin1", _("CIN1 (LSIL)"), ("CIN 1", "CIN I", "LSIL"), grade="lsil"),
    Term("cin2", _("CIN2"), ("CIN 2", "CIN II"), grade="hsil_cin2"),
    Term("cin3", _("CIN3"), ("CIN 3", "CIN III", "CIS"), grade="hsil_cin3"),
    Term("ais", _("Adenocarcinoma in situ"), ("AIS",), grade="hsil_cin3"),
    Term(
        "scc",
        _("Squamous cell carcinoma"),
        ("SCC", "Invasive squamous cell carcinoma"),
        grade="cancer",
    ),
    Term("adenocarcinoma", _("Adenocarcinoma"), ("Invasive adenocarcinoma",), grade="cancer"),
    Term("other", _("Other"), grade="unknown"),
)

# The worst histopathology as an ordered grade, for benchmark labels (CIN2+ vs below, …).
HISTOPATHOLOGY_GRADE = vocabulary(
    "histopathology_grade",
    Term("not_done", _("Not done")),
    Term("unknown", _("Unknown or not assessable")),
    Term("normal", _("Normal / benign"), rank=0),
    Term("lsil", _("LSIL / CIN1"), rank=1),
    Term("hsil_cin2", _("HSIL / CIN2"), rank=2),
    Term("hsil_cin3", _("HSIL / CIN3 or AIS"), rank=3),
    Term("cancer", _("Invasive cancer"), rank=4),
)

HISTOPATHOLOGY_OTHER_SITES = vocabulary(
    "histopathology_other_sites",
    Term("vain1", _("VaIN1 (vaginal LSIL)")),
    Term("vain2", _("VaIN2 (vaginal HSIL)")),
    Term("vain3", _("VaIN3 (vaginal HSIL)")),
    Term("vin1", _("VIN1 (vulvar LSIL)")),
    Term("vin2", _("VIN2 (vulvar HSIL)")),
    Term("vin3", _("VIN3 (vulvar HSIL)")),
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

# Every field holding a list of codes, keyed by field name.
CODE_LISTS = {**FINDING_LISTS, "histopathology_other_sites": HISTOPATHOLOGY_OTHER_SITES}
