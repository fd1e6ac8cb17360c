"""Which column of an IARC image-bank workbook holds what, and how its wording becomes a code.

The colposcopy bank's metadata follows the IFCPC 2011 terminology and the Swede score; the VIA
bank's describes the acetowhite area. Headers are matched through `spreadsheet.header_key`, so
case, spacing, newlines and known misspellings ("Acitowhite area color") do not matter; a
numbered repeat ("additional position 2") matches its unnumbered form.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from imagebank import vocabularies as vocab
from imagebank.ingest.report import IngestReport
from imagebank.ingest.spreadsheet import Row, header_index

CASE_NUMBER_TEXT = re.compile(r"^(?:case[\s_-]*)?0*(\d{1,6})$", re.IGNORECASE)


def case_number(text: str | None) -> int | None:
    match = CASE_NUMBER_TEXT.match(text or "")
    number = int(match.group(1)) if match else 0
    return number or None


def reference(number: int) -> str:
    return f"Case {number:03d}"


# Special columns: the case's identity, not clinical fields.
CASE_NUMBER = "case_number"
PATIENT_ID = "case_id"
IDENTITY = frozenset({CASE_NUMBER, PATIENT_ID})

# Columns of the images sheet.
IMAGE_COLUMNS = header_index(
    {
        CASE_NUMBER: ("Case Number", "CaseNumber", "Case No", "Case"),
        "file": ("File", "File name", "Filename", "Image"),
        "sort": ("Sort", "Order", "Display order"),
        "type": ("Type", "Step", "Examination step"),
    }
)

# Metadata columns: a field name, or a special name above. Several columns may feed one list field.
METADATA_COLUMNS = header_index(
    {
        CASE_NUMBER: ("Case Number", "CaseNumber", "Case No"),
        PATIENT_ID: ("CaseID", "Case ID", "Patient ID"),
        "age_at_exam": ("Age", "Age at examination"),
        "hpv_result": ("HPV", "HPV status", "HPV result"),
        "adequacy": ("Adequacy",),
        "inadequacy_reason": ("Reason", "Reason for inadequacy"),
        "scj_visibility": ("Squamocolumnar junction visibility", "SCJ", "SCJ visibility"),
        "scj_location": ("SCJ Location", "Squamocolumnar junction location"),
        "transformation_zone": ("Transformation zone", "Transformation zone type"),
        "normal_findings": (
            "Original squamous epithelium",
            "Columnar epithelium",
            "Metaplastic squamous epithelium",
            "Deciduosis in pregnancy",
        ),
        "lesion_location": ("Location of the lesion",),
        "lesion_clock_positions": (
            "Location of the lesion by clock position",
            "Clock position",
            "additional position",
        ),
        "lesion_quadrants": ("No of quadrants", "Number of quadrants", "Quadrants"),
        "lesion_extent": ("% of cervix", "Percentage of cervix"),
        "grade_1_findings": ("Grade 1", "additional Grade 1", "Grade 1 (minor)"),
        "grade_2_findings": ("Grade 2", "additional Grade 2", "Grade 2 (major)"),
        "non_specific_findings": ("Non-specific", "additional Non-specific"),
        "suspicious_for_invasion_findings": (
            "Suspicious for invasion",
            "additional Suspicious for invasion",
        ),
        "miscellaneous_findings": ("Miscellaneous finding", "Additional miscellaneous finding"),
        "swede_aceto_uptake": ("Aceto uptake",),
        "swede_margins": ("Margins", "Margins/Surface"),
        "swede_vessels": ("Vessels",),
        "swede_lesion_size": ("Lesion size",),
        "swede_iodine_uptake": ("Iodine uptake", "Iodine staining"),
        "swede_total": ("SwedeFinal", "Swede score", "Swede total", "Swede final"),
        "provisional_diagnosis": ("Provisional diagnosis",),
        "management": ("Management",),
        "histopathology": ("Histopathology", "Histology findings", "Histology"),
        "acetowhite_area": ("Acetowhite area",),
        "acetowhite_colour": ("Acetowhite area colour",),
        "acetowhite_margin": ("Acetowhite area margin",),
        "acetowhite_surface": ("Acetowhite area surface",),
        "acetowhite_location": ("Acetowhite area location",),
        "acetowhite_size": ("Acetowhite area size",),
        "via_result": ("VIA", "VIA result"),
        "ablation_eligibility": ("Eligibility for ablative treatment", "Ablation eligibility"),
    }
)


def display_order(row: Row, column: dict, fallback: int, where: dict, report: IngestReport) -> int:
    """The "Sort" column, or the row's place within its case where there is none (VIA bank)."""
    if "sort" not in column:
        return fallback
    text = row.get(column["sort"])
    if text and text.isdigit() and 0 < int(text) < 10_000:
        return int(text)
    report.warning(
        _("“%(value)s” is not a display order: the row's place in the case is used.")
        % {"value": text or ""},
        field="Sort",
        **where,
    )
    return fallback


def step_code(wording: str) -> tuple[str, str, bool]:
    """(code, wording to keep, known) for an examination-step cell. A wording other than the
    term's own label is kept beside the code, since it may say more ("with green filter"); one
    naming several steps gets the one the picture shows ("After normal saline with green
    filter" is the green filter); an unknown one becomes "other"."""
    reading = vocab.read(vocab.EXAMINATION_STEP, wording)
    if not reading.code:
        return "other", wording, False
    term = vocab.EXAMINATION_STEP[reading.code]
    canonical = {vocab.wording_key(term.code), vocab.wording_key(str(term.label))}
    kept = "" if vocab.wording_key(wording) in canonical else wording
    return term.code, kept, True
