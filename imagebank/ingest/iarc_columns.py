"""Which column of an IARC image-bank workbook holds what, and how its wording becomes a code.

The colposcopy bank's metadata follows the IFCPC 2011 terminology and the Swede score; the VIA
bank's describes the acetowhite area. Headers are matched through `spreadsheet.header_key`, so
case, spacing, newlines and known misspellings ("Acitowhite area color") do not matter; a
numbered repeat ("additional position 2") matches its unnumbered form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from imagebank import vocabularies as vocab
from imagebank.ingest.report import IngestReport
from imagebank.ingest.spreadsheet import Row, header_index
from imagebank.models.cases import ACETOWHITE_FEATURES, CODED_FIELDS, MAX_AGE, MIN_AGE

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

# Coded fields whose wording is kept as written beside the code.
WORDING_KEPT = {
    "provisional_diagnosis": "provisional_diagnosis_text",
    "management": "management_text",
}
TEXT_MAX_LENGTH = 500  # of the fields above, as the model allows
NOTES_MAX_LENGTH = 5000

# A finding column says "nothing here" in these words: they map onto no code and are no problem.
NOTHING = frozenset({"no", "none", "not applicable", "n/a", "na", "nil", "absent", "-"})

CLOCK_ALL_AROUND = frozenset({"all around", "all round", "circumferential", "all"})
_CLOCK = re.compile(r"^(\d{1,2})(?:\s*(?:-|to)\s*(\d{1,2}))?\s*(?:o'?\s*clock|h|hrs?)?$")


def clock_hours(wording: str) -> list[int] | None:
    """ "12 o'clock" → [12]; "05-08 o'clock" → [5, 6, 7, 8]; "11-1" → [11, 12, 1]; "All around"
    → 1-12; None when the wording is not a clock position."""
    text = vocab.normalise_wording(wording)
    if text in CLOCK_ALL_AROUND:
        return list(range(1, 13))
    match = _CLOCK.match(text)
    if not match:
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    if not (0 <= first <= 12 and 0 <= last <= 12):
        return None
    first, last = first or 12, last or 12  # "00 o'clock" is twelve o'clock
    hours = [first]
    while hours[-1] != last:
        hours.append(hours[-1] % 12 + 1)  # a range may pass twelve o'clock
    return hours


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


def finding_codes(field: str, wording: str) -> list[str] | None:
    """The codes a finding cell names: one term, or several joined by "and" (e.g. "Nabothian
    cysts and Crypt (gland) openings"); [] for "No"/"Not applicable"; None when unknown."""
    if vocab.normalise_wording(wording) in NOTHING:
        return []
    vocabulary = vocab.FINDING_LISTS[field]
    term = vocabulary.lookup(wording)
    if term is not None:
        return [term.code]
    parts = [part for part in re.split(r"\s+and\s+|\s*[;+]\s*", wording, flags=re.I) if part]
    terms = [vocabulary.lookup(part) for part in parts]
    if len(parts) > 1 and all(terms):
        return [term.code for term in terms if term]
    return None


def step_code(wording: str) -> tuple[str, str, bool]:
    """(code, wording to keep, known) for an examination-step cell. A wording other than the
    term's own label is kept beside the code, since it may say more ("with green filter");
    an unknown one becomes "other"."""
    term = vocab.EXAMINATION_STEP.lookup(wording)
    if term is None:
        return "other", wording, False
    canonical = {vocab.normalise_wording(term.code), vocab.normalise_wording(str(term.label))}
    kept = "" if vocab.normalise_wording(wording) in canonical else wording
    return term.code, kept, True


# --- one metadata row → clinical fields -----------------------------------------------------------

# Coded fields where these words mean "not given" rather than an unknown term.
NOT_GIVEN = frozenset({"not applicable", "n/a", "na", "-"})
INTEGER = re.compile(r"^\d{1,3}$")


@dataclass
class RowFields:
    """What one metadata row says, as clinical fields, with every value that did not fit kept."""

    where: dict  # file, row and case, for the report
    report: IngestReport
    values: dict[str, Any] = field(default_factory=dict)
    not_in_vocabulary: list[str] = field(default_factory=list)
    swede_total_wording: tuple[str, str] | None = None  # (header, wording)

    def unknown(self, header: str, wording: str, why: str = "") -> None:
        """A wording that fits no code: warned about, the field left empty, the wording noted."""
        self.report.warning(
            why
            or _(
                "“%(value)s” is not in the vocabulary: field left empty, the wording kept in the "
                "notes."
            )
            % {"value": wording},
            field=header,
            **self.where,
        )
        self.not_in_vocabulary.append(f"{header} = '{wording}'")

    def add(self, name: str, header: str, wording: str) -> None:
        if name in vocab.FINDING_LISTS:
            codes = finding_codes(name, wording)
            if codes is None:
                self.unknown(header, wording)
            else:
                self.values.setdefault(name, []).extend(codes)
        elif name == "lesion_clock_positions":
            hours = clock_hours(wording)
            if hours is None:
                self.unknown(header, wording)
            else:
                self.values.setdefault(name, []).extend(hours)
        elif name == "lesion_quadrants":
            self._integer(name, header, wording, 0, 4)
        elif name == "age_at_exam":
            self._integer(name, header, wording, MIN_AGE, MAX_AGE)
        elif name == "swede_total":
            self.swede_total_wording = (header, wording)
        else:
            self._coded(name, header, wording)

    def _integer(self, name: str, header: str, wording: str, low: int, high: int) -> None:
        if INTEGER.match(wording) and low <= int(wording) <= high:
            self.values[name] = int(wording)
        else:
            self.unknown(
                header,
                wording,
                _("“%(value)s” is not a whole number from %(low)s to %(high)s: field left empty.")
                % {"value": wording, "low": low, "high": high},
            )

    def _coded(self, name: str, header: str, wording: str) -> None:
        term = CODED_FIELDS[name].lookup(wording)
        if name in WORDING_KEPT:
            self.values[WORDING_KEPT[name]] = wording[:TEXT_MAX_LENGTH]
            if term is None:
                self.report.warning(
                    _("“%(value)s” is not in the vocabulary: kept as written only.")
                    % {"value": wording},
                    field=header,
                    **self.where,
                )
        if term is None:
            if name not in WORDING_KEPT and vocab.normalise_wording(wording) not in NOT_GIVEN:
                self.unknown(header, wording)
            return
        if self.values.get(name) not in (None, term.code):
            self.unknown(
                header,
                wording,
                _("Another column already gave this field: “%(value)s” kept in the notes.")
                % {"value": wording},
            )
            return
        self.values[name] = term.code

    def finish(self) -> dict[str, Any]:
        """Settle what depends on several columns; returns the fields for CaseItem.metadata."""
        self._swede_total()
        self._drop_inconsistent()
        if self.not_in_vocabulary:
            note = _("Imported values not in the vocabulary: %(values)s") % {
                "values": "; ".join(self.not_in_vocabulary)
            }
            self.values["notes"] = note[:NOTES_MAX_LENGTH]
        return self.values

    def _swede_total(self) -> None:
        if self.swede_total_wording is None:
            return
        header, wording = self.swede_total_wording
        if vocab.normalise_wording(wording) in vocab.SWEDE_NOT_ASSESSABLE_SENTINELS:
            self.values["swede_not_assessable"] = True
            self.report.warning(
                _("Swede score “%(value)s” means not assessable: stored as not assessable.")
                % {"value": wording},
                field=header,
                **self.where,
            )
            return
        if not INTEGER.match(wording) or int(wording) > vocab.SWEDE_MAX:
            self.unknown(
                header,
                wording,
                _("“%(value)s” is not a Swede score (0-%(max)s): left to be computed.")
                % {"value": wording, "max": vocab.SWEDE_MAX},
            )
            return
        points = [
            vocabulary.score(self.values.get(name))
            for name, vocabulary in vocab.SWEDE_COMPONENTS.items()
        ]
        if None not in points and sum(points) != int(wording):
            self.report.warning(
                _(
                    "The Swede score is %(total)s but its components add up to %(sum)s: the "
                    "components are kept and the score computed from them."
                )
                % {"total": wording, "sum": sum(points)},
                field=header,
                **self.where,
            )
            return
        self.values["swede_total"] = int(wording)

    def _drop_inconsistent(self) -> None:
        """The bank refuses these combinations; keep the wording in the notes instead."""
        dropped = []
        if self.values.get("acetowhite_area") == "absent":
            dropped = [name for name in ACETOWHITE_FEATURES if self.values.get(name)]
        if self.values.get("inadequacy_reason") and self.values.get("adequacy") != "inadequate":
            dropped.append("inadequacy_reason")
        for name in dropped:
            code = self.values.pop(name)
            self.report.warning(
                _("“%(field)s” does not apply to this case's other answers: kept in the notes.")
                % {"field": name},
                field=name,
                **self.where,
            )
            self.not_in_vocabulary.append(f"{name} = '{CODED_FIELDS[name].label(code)}'")
