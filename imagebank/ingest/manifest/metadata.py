"""Clinical metadata of one case: wordings mapped to vocabulary codes, values checked.

Shared by the CSV reader (every value is text) and the JSON reader (values are JSON-typed).
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from imagebank import vocabularies as vocab
from imagebank.ingest.report import Level
from imagebank.models.cases import ACETOWHITE_FEATURES, CODED_FIELDS, MAX_AGE, MIN_AGE
from imagebank.services.cases import CLINICAL_FIELDS

LIST_SEPARATOR = ";"  # findings and clock hours in one CSV cell
INTEGER_RANGES = {
    "age_at_exam": (MIN_AGE, MAX_AGE),
    "exam_year": (1990, 2100),
    "lesion_quadrants": (0, 4),
}
TEXT_LIMITS = {"provisional_diagnosis_text": 500, "management_text": 500, "notes": 5000}
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}
SWEDE_SENTINEL_NUMBERS = {
    int(s) for s in vocab.SWEDE_NOT_ASSESSABLE_SENTINELS if s.lstrip("-").isdigit()
}


def _term(vocabulary: vocab.Vocabulary, value: str) -> tuple[str | None, bool]:
    """(code, was a spelling variant normalised?) for a coded value; (None, False) if unknown."""
    if value in vocabulary:
        return value, False
    term = vocabulary.lookup(value)
    if term is None:
        return None, False
    return term.code, value not in (term.code, str(term.label), *term.spellings)


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
            code, variant = (
                _term(CODED_FIELDS[name], value) if isinstance(value, str) else (None, 0)
            )
            if code is None:
                error(
                    name,
                    _("“%(value)s” is not a code or known wording of %(vocabulary)s.")
                    % {"value": value, "vocabulary": CODED_FIELDS[name].name},
                )
                continue
            if variant:
                normalised(name, value, code)
            cleaned[name] = code
        elif name in vocab.FINDING_LISTS:
            items = _as_list(value)
            if items is None or not all(isinstance(item, str) for item in items):
                error(name, _("Give a list of findings."))
                continue
            codes, unknown = [], []
            for item in items:
                code, variant = _term(vocab.FINDING_LISTS[name], item)
                if code is None:
                    unknown.append(item)
                    continue
                if variant:
                    normalised(name, item, code)
                codes.append(code)
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
