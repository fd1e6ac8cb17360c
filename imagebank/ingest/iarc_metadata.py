"""One row of an IARC metadata workbook → the case's clinical fields, every value accounted for.

Each cell is read against its field's vocabulary (`imagebank.vocabularies.read`): a code, the
codes of a findings list, or a composite value whose coded parts are taken (the TZ type and the
impression of "Type 3 transformation zone; HSIL", the worst grade of a histology report) while the
whole wording is kept. A value that maps to nothing is kept as written (in its "as written" field
or in the case's notes) and reported with the reason; "Unknown" is a value, never a failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from imagebank import vocabularies as vocab
from imagebank.ingest.report import IngestReport
from imagebank.models.cases import ACETOWHITE_FEATURES, CODED_FIELDS, MAX_AGE, MIN_AGE

# Coded fields whose wording is kept as written beside the code.
WORDING_KEPT = {
    "provisional_diagnosis": "provisional_diagnosis_text",
    "management": "management_text",
    "histopathology": "histopathology_text",
}
TEXT_MAX_LENGTH = 500  # of the fields above, as the model allows
NOTES_MAX_LENGTH = 5000
INTEGER = re.compile(r"^\d{1,3}$")

CLOCK_ALL_AROUND = frozenset({"all around", "all round", "circumferential", "all"})
# Answers to "clock position" that name a place rather than an hour.
CLOCK_PLACES = frozenset({"endocervical", "endocervix", "in the canal", "endocervical canal"})
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


def finding_codes(field_name: str, wording: str, header: str = "") -> list[str] | None:
    """The codes a findings cell names (one term, or several: "Nabothian cysts and Crypt (gland)
    openings"); [] for "No"/"Not applicable"; None when it names no term."""
    reading = vocab.read_finding_column(vocab.FINDING_LISTS[field_name], header, wording)
    if reading.not_given:
        return []
    return reading.codes or None


def _source(vocabulary: vocab.Vocabulary) -> str:
    return vocabulary.source or vocabulary.name


@dataclass
class RowFields:
    """What one metadata row says, as clinical fields, with every value that did not fit kept."""

    where: dict  # file, row and case, for the report
    report: IngestReport
    values: dict[str, Any] = field(default_factory=dict)
    kept_in_notes: list[str] = field(default_factory=list)
    # Fields a composite value named beside its own (the TZ type in a provisional diagnosis).
    named_elsewhere: list[tuple[str, Any, str, str]] = field(default_factory=list)
    swede_total_wording: tuple[str, str] | None = None  # (header, wording)

    def _warn(self, header: str, message: str) -> None:
        self.report.warning(message, field=header, **self.where)

    def _keep_in_notes(self, header: str, wording: str) -> None:
        self.kept_in_notes.append(f"{header} = '{wording}'")

    def unmapped(self, header: str, wording: str, vocabulary: vocab.Vocabulary) -> None:
        self._warn(
            header,
            _(
                "“%(value)s” names no term of this field's vocabulary (%(source)s): field left "
                "empty, the wording kept in the notes."
            )
            % {"value": wording, "source": _source(vocabulary)},
        )
        self._keep_in_notes(header, wording)

    def unknown(self, header: str, wording: str) -> None:
        self.report.info(
            _("“%(value)s”: recorded as unknown (the field has no code for it), kept in the notes.")
            % {"value": wording},
            field=header,
            **self.where,
        )
        self._keep_in_notes(header, wording)

    def add(self, name: str, header: str, wording: str) -> None:
        if name in vocab.FINDING_LISTS:
            self._findings(name, header, wording)
        elif name == "lesion_clock_positions":
            self._clock(header, wording)
        elif name == "lesion_quadrants":
            self._integer(name, header, wording, 0, 4)
        elif name == "age_at_exam":
            self._integer(name, header, wording, MIN_AGE, MAX_AGE)
        elif name == "swede_total":
            self.swede_total_wording = (header, wording)
        else:
            self._coded(name, header, wording)

    def _findings(self, name: str, header: str, wording: str) -> None:
        vocabulary = vocab.FINDING_LISTS[name]
        reading = vocab.read_finding_column(vocabulary, header, wording)
        if reading.codes:
            self.values.setdefault(name, []).extend(reading.codes)
            if reading.unread:
                self._warn(
                    header,
                    _(
                        "“%(part)s” in “%(value)s” names no term of this field's vocabulary "
                        "(%(source)s): the rest is read, that part kept in the notes."
                    )
                    % {
                        "part": "; ".join(reading.unread),
                        "value": wording,
                        "source": _source(vocabulary),
                    },
                )
                self._keep_in_notes(header, "; ".join(reading.unread))
        elif reading.unknown:
            self.unknown(header, wording)
        elif not reading.not_given:
            self.unmapped(header, wording, vocabulary)

    def _clock(self, header: str, wording: str) -> None:
        hours = clock_hours(wording)
        if hours is not None:
            self.values.setdefault("lesion_clock_positions", []).extend(hours)
        elif vocab.normalise_wording(wording) in CLOCK_PLACES:
            self.report.info(
                _("“%(value)s” is a place, not a clock hour: kept in the notes.")
                % {"value": wording},
                field=header,
                **self.where,
            )
            self._keep_in_notes(header, wording)
        else:
            self._warn(
                header,
                _(
                    "“%(value)s” is not a clock position (“12 o'clock”, “05-08 o'clock”, “All "
                    "around”): field left empty, the wording kept in the notes."
                )
                % {"value": wording},
            )
            self._keep_in_notes(header, wording)

    def _integer(self, name: str, header: str, wording: str, low: int, high: int) -> None:
        if INTEGER.match(wording) and low <= int(wording) <= high:
            self.values[name] = int(wording)
            return
        self._warn(
            header,
            _(
                "“%(value)s” is not a whole number from %(low)s to %(high)s: field left empty, the "
                "wording kept in the notes."
            )
            % {"value": wording, "low": low, "high": high},
        )
        self._keep_in_notes(header, wording)

    def _coded(self, name: str, header: str, wording: str) -> None:
        vocabulary = CODED_FIELDS[name]
        reading = vocab.read(vocabulary, wording)
        kept_as = WORDING_KEPT.get(name)
        if kept_as:
            self.values[kept_as] = wording[:TEXT_MAX_LENGTH]
        for other, code in reading.also.items():
            self.named_elsewhere.append((other, code, header, wording))
        if reading.not_given:
            return
        if reading.unknown:
            self.unknown(header, wording)
            return
        if not reading.code:
            if kept_as:
                self._warn(
                    header,
                    _(
                        "“%(value)s” names no term of this field's vocabulary (%(source)s): kept "
                        "as written only."
                    )
                    % {"value": wording, "source": _source(vocabulary)},
                )
            else:
                self.unmapped(header, wording, vocabulary)
            return
        if self.values.get(name) not in (None, reading.code):
            self._warn(
                header,
                _("Another column already gave this field: “%(value)s” kept in the notes.")
                % {"value": wording},
            )
            self._keep_in_notes(header, wording)
            return
        self.values[name] = reading.code
        if reading.unread and kept_as:
            self.report.info(
                _("Read as “%(label)s”; the rest (“%(rest)s”) is kept with the whole wording.")
                % {"label": vocabulary.label(reading.code), "rest": "; ".join(reading.unread)},
                field=header,
                **self.where,
            )

    def finish(self) -> dict[str, Any]:
        """Settle what depends on several columns; returns the fields for CaseItem.metadata."""
        self._fields_named_elsewhere()
        self._swede_total()
        self._drop_inconsistent()
        if self.kept_in_notes:
            note = _("Imported values kept as written: %(values)s") % {
                "values": "; ".join(self.kept_in_notes)
            }
            self.values["notes"] = note[:NOTES_MAX_LENGTH]
        return self.values

    def _fields_named_elsewhere(self) -> None:
        """A composite value's other parts fill fields the row leaves empty; where the row gave
        another answer, the row's own column wins and the difference is reported."""
        for name, value, header, wording in self.named_elsewhere:
            given = self.values.get(name)
            if isinstance(value, list):
                self.values[name] = list(dict.fromkeys([*(given or []), *value]))
            elif given in (None, "", value):
                self.values[name] = value
            else:
                label = CODED_FIELDS[name].label
                self._warn(
                    header,
                    _(
                        "“%(value)s” says %(named)s but the row's own column says %(given)s: the "
                        "column is kept."
                    )
                    % {"value": wording, "named": label(value), "given": label(given)},
                )

    def _swede_total(self) -> None:
        if self.swede_total_wording is None:
            return
        header, wording = self.swede_total_wording
        if vocab.normalise_wording(wording) in vocab.SWEDE_NOT_ASSESSABLE_SENTINELS:
            self.values["swede_not_assessable"] = True
            self.report.info(
                _("Swede score “%(value)s” means not assessable: stored as not assessable.")
                % {"value": wording},
                field=header,
                **self.where,
            )
            return
        if not INTEGER.match(wording) or int(wording) > vocab.SWEDE_MAX:
            self._warn(
                header,
                _("“%(value)s” is not a Swede score (0-%(max)s): left to be computed.")
                % {"value": wording, "max": vocab.SWEDE_MAX},
            )
            self._keep_in_notes(header, wording)
            return
        points = [
            vocabulary.score(self.values.get(name))
            for name, vocabulary in vocab.SWEDE_COMPONENTS.items()
        ]
        if None not in points and sum(points) != int(wording):
            self._warn(
                header,
                _(
                    "The Swede score is %(total)s but its components add up to %(sum)s: the "
                    "components are kept and the score computed from them."
                )
                % {"total": wording, "sum": sum(points)},
            )
            self._keep_in_notes(header, wording)
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
            self._warn(
                name,
                _("“%(field)s” does not apply to this case's other answers: kept in the notes.")
                % {"field": name},
            )
            self._keep_in_notes(name, CODED_FIELDS[name].label(code))
