"""Clinical metadata of one case: wordings mapped to vocabulary codes, values checked.

Shared by the CSV reader (every value is text) and the JSON reader (values are JSON-typed).
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from imagebank import vocabularies as vocab
from imagebank.ingest.report import Level
from imagebank.models.cases import (
    ACETOWHITE_FEATURES,
    CLINICAL_FIELDS,
    CODED_FIELDS,
    MAX_AGE,
    MIN_AGE,
)

LIST_SEPARATOR = ";"  # findings and clock hours in one CSV cell
INTEGER_RANGES = {
    "age_at_exam": (MIN_AGE, MAX_AGE),
    "exam_year": (1990, 2100),
    "lesion_quadrants": (0, 4),
}
TEXT_LIMITS = {
    "provisional_diagnosis_text": 500,
    "management_text": 500,
    "histopathology_text": 500,
    "notes": 5000,
}
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}
SWEDE_SENTINEL_NUMBERS = {
    int(s) for s in vocab.SWEDE_NOT_ASSESSABLE_SENTINELS if s.lstrip("-").isdigit()
}


# Coded fields whose wording, when it is more than a code, is kept in a field of its own.
WORDING_KEPT = {
    "provisional_diagnosis": "provisional_diagnosis_text",
    "management": "management_text",
    "histopathology": "histopathology_text",
}


def _term(vocabulary: vocab.Vocabulary, value: str) -> tuple[str | None, bool, vocab.Reading]:
    """(code, was a wording other than the code read?, the reading) for a coded value; the code
    is None when the wording names no term. Composite wordings ("Type 3 transformation zone;
    HSIL") are read as the IARC importer reads them (imagebank.vocabularies.readings)."""
    if value in vocabulary:
        return value, False, vocab.Reading(code=value)
    reading = vocab.read(vocabulary, value)
    if not reading.code:
        return None, False, reading
    return reading.code, True, reading


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", value):
        return int(value)
    return None


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, str):  # a CSV cell
        return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]
    return value if isinstance(value, list) else None


def clean_metadata(raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[Level, str, str]]]:
    """Map wordings to codes and check values: (metadata, [(level, field, message)]).

    Values may be JSON-typed or CSV text; None and "" mean "not given". Any error means the case
    must be rejected: this is the bank's own format, so it is strict about clinical metadata.
    """
    cleaned: dict[str, Any] = {}
    notes: list[tuple[Level, str, str]] = []
    # What composite wordings say beyond their own field: filled in where not given.
    named_elsewhere: dict[str, Any] = {}
    kept_wordings: dict[str, str] = {}

    def error(name: str, message: str) -> None:
        notes.append((Level.ERROR, name, message))

    def normalised(name: str, value: str, code: str) -> None:
        notes.append(
            (
                Level.WARNING,
                name,
                _("Spelling variant normalised: “%(value)s” read as “%(code)s”.")
                % {"value": value, "code": code},
            )
        )

    for name, value in raw.items():
        if value is None or value == "":
            continue
        if name not in CLINICAL_FIELDS:
            error(name, _("Unknown metadata field “%(field)s”.") % {"field": name})
        elif name in CODED_FIELDS:
            if not isinstance(value, str):
                error(name, _("Give a code or a wording, as text."))
                continue
            code, variant, reading = _term(CODED_FIELDS[name], value)
            if code is None:
                if reading.unknown:
                    notes.append(
                        (
                            Level.WARNING,
                            name,
                            _("“%(value)s”: recorded as unknown, the field has no code for it.")
                            % {"value": value},
                        )
                    )
                    continue
                error(
                    name,
                    _("“%(value)s” is not a code or known wording of %(vocabulary)s.")
                    % {"value": value, "vocabulary": CODED_FIELDS[name].name},
                )
                continue
            if variant:
                normalised(name, value, code)
                if name in WORDING_KEPT:
                    kept_wordings[WORDING_KEPT[name]] = value.strip()
            for other, named in reading.also.items():
                named_elsewhere.setdefault(other, named)
            cleaned[name] = code
        elif name in vocab.CODE_LISTS:
            items = _as_list(value)
            if items is None or not all(isinstance(item, str) for item in items):
                error(name, _("Give a list of findings."))
                continue
            codes, unknown = [], []
            for item in items:
                if item in vocab.CODE_LISTS[name]:
                    codes.append(item)
                    continue
                reading = vocab.read(vocab.CODE_LISTS[name], item, many=True)
                if not reading.codes or reading.unread:
                    unknown.append(item)
                    continue
                for code in reading.codes:
                    normalised(name, item, code)
                codes.extend(reading.codes)
            if unknown:
                error(
                    name,
                    _("Not codes or known wordings of %(vocabulary)s: %(values)s")
                    % {"vocabulary": name, "values": ", ".join(f"“{u}”" for u in unknown)},
                )
                continue
            cleaned[name] = list(dict.fromkeys(codes))
        elif name in INTEGER_RANGES:
            low, high = INTEGER_RANGES[name]
            number = integer(value)
            if number is None or not low <= number <= high:
                error(
                    name,
                    _("Give a whole number from %(low)s to %(high)s, not “%(value)s”.")
                    % {"low": low, "high": high, "value": value},
                )
                continue
            cleaned[name] = number
        elif name == "lesion_clock_positions":
            hours = [integer(hour) for hour in _as_list(value) or [None]]
            if any(hour is None or not 1 <= hour <= 12 for hour in hours):
                error(name, _("Give clock hours from 1 to 12, not “%(value)s”.") % {"value": value})
                continue
            cleaned[name] = sorted(set(hours))
        elif name == "swede_total":
            number = integer(value)
            if number in SWEDE_SENTINEL_NUMBERS or (
                isinstance(value, str)
                and vocab.normalise_wording(value) in vocab.SWEDE_NOT_ASSESSABLE_SENTINELS
            ):
                notes.append(
                    (
                        Level.WARNING,
                        name,
                        _("Swede score “%(value)s” read as “not assessable”.") % {"value": value},
                    )
                )
                cleaned["swede_not_assessable"] = True
            elif number is None or not 0 <= number <= vocab.SWEDE_MAX:
                error(
                    name,
                    _("Give a Swede score from 0 to %(max)s, or 99 for “not assessable”.")
                    % {"max": vocab.SWEDE_MAX},
                )
            else:
                cleaned[name] = number
        elif name == "swede_not_assessable":
            word = str(value).strip().casefold()
            if value is True or word in TRUE_WORDS:
                cleaned[name] = True
            elif value is False or word in FALSE_WORDS:
                cleaned.setdefault(name, False)  # a sentinel total wins
            else:
                error(name, _("Give true or false."))
        else:  # free text
            if not isinstance(value, str) or len(value) > TEXT_LIMITS[name]:
                error(
                    name,
                    _("Give text of at most %(limit)s characters.") % {"limit": TEXT_LIMITS[name]},
                )
                continue
            cleaned[name] = value.strip()
    for name, value in {**named_elsewhere, **kept_wordings}.items():
        if cleaned.get(name) in (None, "", []):
            cleaned[name] = value[: TEXT_LIMITS.get(name, 500)] if isinstance(value, str) else value
    # The case services refuse these combinations; saying so here names the manifest's field.
    points = [vocab.SWEDE_COMPONENTS[c].score(cleaned.get(c)) for c in vocab.SWEDE_COMPONENTS]
    if None not in points and cleaned.get("swede_total", sum(points)) != sum(points):
        error(
            "swede_total",
            _("The Swede score is %(total)s but its components add up to %(sum)s.")
            % {"total": cleaned["swede_total"], "sum": sum(points)},
        )
    if cleaned.get("inadequacy_reason") and cleaned.get("adequacy") != "inadequate":
        error("inadequacy_reason", _("A reason is given only for an inadequate examination."))
    if cleaned.get("acetowhite_area") == "absent":
        for name in ACETOWHITE_FEATURES:
            if cleaned.get(name):
                error(name, _("The acetowhite area is absent: its features cannot be given."))
    return cleaned, notes
