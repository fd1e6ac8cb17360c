"""What an ingest did, per case, per file and per row: the account a data manager reads.

Errors are what was left out (an unreadable image, a listed file that is missing, an invalid value
in a required field); warnings are what was kept with a remark (an unknown step wording stored as
"other", a sentinel value stored as "not assessable", a file present but not listed).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Outcome(StrEnum):
    CREATED = "created"  # a new case, with the images listed under it
    UPDATED = "updated"  # new images added to the case already in the bank (still a draft)
    UNCHANGED = "unchanged"  # everything was already in the bank: nothing created
    REJECTED = "rejected"  # the case's own metadata was invalid: nothing written


@dataclass
class Problem:
    level: Level
    message: str
    file: str = ""
    row: int | None = None
    field: str = ""
    case: str = ""
    # The path or upload it came from, when one import reads several (two IARC banks both have a
    # "Case 001" and a "Cases - Images.xlsx").
    source: str = ""


@dataclass
class CaseResult:
    reference: str  # the source's name for the case, e.g. "Case 001" or a manifest's case id
    outcome: Outcome
    case_id: int | None = None
    images_added: int = 0
    images_already_in_bank: int = 0
    images_left_out: int = 0
    source: str = ""


@dataclass
class IngestReport:
    source: str = ""
    format: str = ""
    problems: list[Problem] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)

    def add(self, level: Level, message: str, **where) -> Problem:
        problem = Problem(level=level, message=str(message), **where)
        self.problems.append(problem)
        return problem

    def error(self, message: str, **where) -> Problem:
        return self.add(Level.ERROR, message, **where)

    def warning(self, message: str, **where) -> Problem:
        return self.add(Level.WARNING, message, **where)

    def info(self, message: str, **where) -> Problem:
        return self.add(Level.INFO, message, **where)

    def extend(self, other: IngestReport) -> None:
        self.problems.extend(other.problems)
        self.cases.extend(other.cases)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == Level.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == Level.WARNING]

    def summary(self) -> dict[str, int]:
        return {
            "cases_created": sum(c.outcome == Outcome.CREATED for c in self.cases),
            "cases_updated": sum(c.outcome == Outcome.UPDATED for c in self.cases),
            "cases_unchanged": sum(c.outcome == Outcome.UNCHANGED for c in self.cases),
            "cases_rejected": sum(c.outcome == Outcome.REJECTED for c in self.cases),
            "images_added": sum(c.images_added for c in self.cases),
            "images_already_in_bank": sum(c.images_already_in_bank for c in self.cases),
            "images_left_out": sum(c.images_left_out for c in self.cases),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "format": self.format,
            "summary": self.summary(),
            "cases": [asdict(c) for c in self.cases],
            "problems": [asdict(p) for p in self.problems],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
