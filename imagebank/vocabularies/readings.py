"""What a wording says for one field: a code, the codes of a list, and what else it names.

Real exports write composite values: "Type 3 transformation zone; high-grade squamous
intraepithelial lesion (HSIL)" (a TZ type and an impression), "Anterior lip: CIN3; posterior lip:
CIN1" (one result per lip), "HSIL-CIN3 of the cervix, VaIN2 and VIN1" (cervix, vagina and vulva).
`read` codes what carries a code — the TZ type, the impression, the worst grade — and says what it
could not read; the caller keeps the whole wording. "Unknown" is a value: a vocabulary with an
"unknown" term codes it, and for one without, the reading says the value is unknown rather than
failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .colposcopic_impression import PROVISIONAL_DIAGNOSIS
from .histopathology import HISTOPATHOLOGY, HISTOPATHOLOGY_OTHER_SITES, OTHER_SITE_OF
from .ifcpc2011 import TRANSFORMATION_ZONE
from .terms import Term, Vocabulary, tokens, wording_key

# A cell saying "nothing here": no finding, no value. Not an unknown term.
NOT_GIVEN = frozenset(
    wording_key(w) for w in ("none", "nil", "not applicable", "n/a", "na", "no", "nothing")
)
UNKNOWN = frozenset(
    wording_key(w)
    for w in ("unknown", "not known", "unk", "?", "not recorded", "not documented", "unclear")
)
YES = frozenset(wording_key(w) for w in ("yes", "y", "present", "seen", "true", "positive"))

_PARTS = re.compile(r"[;\n|]+")
_CLAUSES = re.compile(r"[;,.\n|]+|\s+(?:and|with|&)\s+", re.IGNORECASE)
SITE_WORDS = {
    "cervix": frozenset({"cervix", "cervical", "ectocervix", "endocervix", "ectocervical"}),
    "vagina": frozenset({"vagina", "vaginal", "vault"}),
    "vulva": frozenset({"vulva", "vulval", "vulvar", "labia", "perineum", "perineal"}),
}


@dataclass
class Reading:
    """What one wording says for one field."""

    code: str = ""  # for a single-coded field
    codes: list[str] = field(default_factory=list)  # for a list field
    also: dict[str, Any] = field(default_factory=dict)  # other fields the wording names
    not_given: bool = False  # "None", "N/A", "-": no value, and no problem
    unknown: bool = False  # "Unknown", where the vocabulary has no such term
    unread: list[str] = field(default_factory=list)  # parts that named nothing

    @property
    def understood(self) -> bool:
        return bool(self.code or self.codes or self.not_given or self.unknown)


def read(vocabulary: Vocabulary, wording: str | None, *, many: bool = False) -> Reading:
    """Read `wording` against `vocabulary`; `many` for a list field (findings)."""
    key = wording_key(wording)
    if not key:
        return Reading(not_given=True)
    term = vocabulary.lookup(wording)
    if term is not None:
        return Reading(code="" if many else term.code, codes=[term.code] if many else [])
    if key in NOT_GIVEN:
        return Reading(not_given=True)
    if key in UNKNOWN:
        return Reading(unknown=True)
    reader = COMPOSITE_READERS.get(vocabulary.name)
    if reader is not None:
        return reader(str(wording))
    if many:
        return _read_list(vocabulary, str(wording))
    return _read_worst(vocabulary, str(wording))


def read_finding_column(vocabulary: Vocabulary, header: str, wording: str | None) -> Reading:
    """A findings column named after one term ("Deciduosis in pregnancy") answered "Yes"."""
    if wording_key(wording) in YES:
        term = vocabulary.lookup(header)
        if term is not None:
            return Reading(codes=[term.code])
    return read(vocabulary, wording, many=True)


def _read_list(vocabulary: Vocabulary, wording: str) -> Reading:
    found = vocabulary.find(wording)
    if not found:
        return Reading(unread=[wording])
    unread = [
        part
        for part in _parts(wording, _CLAUSES)
        if not vocabulary.find(part) and wording_key(part) not in NOT_GIVEN
    ]
    return Reading(codes=list(dict.fromkeys(f.term.code for f in found)), unread=unread)


def _read_worst(vocabulary: Vocabulary, wording: str) -> Reading:
    """One code for a wording naming one or several terms: the one of highest rank."""
    found = [f.term for f in vocabulary.find(wording)]
    worst = vocabulary.worst(found)
    if worst is None:
        return Reading(unread=[wording])
    return Reading(code=worst.code)


def _parts(wording: str, pattern: re.Pattern = _PARTS) -> list[str]:
    return [part.strip() for part in pattern.split(wording) if part and part.strip()]


def _transformation_zone(part: str) -> Term | None:
    term = TRANSFORMATION_ZONE.lookup(part)
    if term is not None:
        return term
    found = TRANSFORMATION_ZONE.find(part)
    return found[0].term if found else None


def read_impression(wording: str) -> Reading:
    """A colposcopic impression, with the TZ type IARC writes before it."""
    zones: list[Term] = []
    impressions: list[Term] = []
    unread: list[str] = []
    for part in _parts(wording):
        zone = _transformation_zone(part)
        found = [f.term for f in PROVISIONAL_DIAGNOSIS.find(part)]
        if zone is not None:
            zones.append(zone)
        impressions.extend(found)
        if zone is None and not found:
            unread.append(part)
    worst = PROVISIONAL_DIAGNOSIS.worst(impressions)
    reading = Reading(code=worst.code if worst else "", unread=unread)
    if len({zone.code for zone in zones}) == 1:
        reading.also["transformation_zone"] = zones[0].code
    return reading


def _site(clause_tokens: set[str]) -> str:
    if clause_tokens & SITE_WORDS["cervix"]:
        return "cervix"
    for site in ("vagina", "vulva"):
        if clause_tokens & SITE_WORDS[site]:
            return site
    return "cervix"


def read_histopathology(wording: str) -> Reading:
    """The worst cervical diagnosis of a report, and the vaginal and vulvar ones beside it."""
    cervix: list[Term] = []
    other_sites: list[str] = []
    unread: list[str] = []
    for clause in _parts(wording, _CLAUSES):
        site = _site(set(tokens(clause)))
        found_other = [f.term.code for f in HISTOPATHOLOGY_OTHER_SITES.find(clause)]
        found = [f.term for f in HISTOPATHOLOGY.find(clause)]
        other_sites.extend(found_other)
        if found_other:
            pass  # "LSIL (VaIN1)" is one vaginal diagnosis, not also a cervical LSIL
        elif site == "cervix":
            cervix.extend(found)
        else:
            placed = OTHER_SITE_OF[site]
            other_sites.extend(placed[term.code] for term in found if term.code in placed)
        if not found and not found_other:
            unread.append(clause)
    worst = HISTOPATHOLOGY.worst(cervix)
    reading = Reading(code=worst.code if worst else "", unread=unread)
    if other_sites:
        reading.also["histopathology_other_sites"] = list(dict.fromkeys(other_sites))
    return reading


# Vocabularies whose values come composite in real exports, by vocabulary name.
COMPOSITE_READERS = {
    PROVISIONAL_DIAGNOSIS.name: read_impression,
    HISTOPATHOLOGY.name: read_histopathology,
}
