"""What an ingest did, per case, per file and per row: the account a data manager reads.

Errors are what was left out (an unreadable image, a listed file that is missing, an invalid value
in a required field); warnings are what was kept with a remark (an unknown step wording stored as
"other", a sentinel value stored as "not assessable", a file present but not listed).

The report is stored (IngestRun.report) and shown, so file names in it follow the bank's file-name
policy (imagebank.filenames): the report learns every name it is told about — each problem's file,
and the names readers and the writer hand to learn_names() — and, when it is serialised, writes
the withheld ones as their stand-ins wherever they appear: in files, sources, case references and
inside message texts. Messages are written with names in them as usual; rows and case references
stay, so a data manager can still find a withheld file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from imagebank import filenames


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
    submitted: bool = False  # submitted for review after the import (`--submit`)
    # The research consent basis of a case created or given images (Case.consent_basis): "" when
    # none is recorded (the site has no data-sharing agreement in force, and nobody attested);
    # None for a case not written.
    consent_basis: str | None = None


# A file name that nobody told the report about, recognised in a text by its extension: the last
# line of defence (a name with spaces in it is only partly recognised, hence learn_names()).
_FILE_LIKE = re.compile(
    r"[^\s/\\“”\"'«»‘’()\[\]<>,;:|]+\.(?:jpe?g|jpe|png|tiff?|dcm|dicom|zip|xlsx|xlsm|xls|ods|csv"
    r"|json)(?![\w-])",
    re.IGNORECASE,
)


@dataclass
class IngestReport:
    source: str = ""
    format: str = ""
    problems: list[Problem] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    # Names as received -> their stand-ins, for the names the policy withholds.
    withheld_names: dict[str, str] = field(default_factory=dict, repr=False)
    # Called with the report before each case is written: a queued run's heartbeat, which also
    # keeps the report so far with the run (imagebank.ingest.runs).
    on_progress: Callable[[IngestReport], None] | None = field(
        default=None, repr=False, compare=False
    )

    def progressed(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self)

    def wrote_cases(self) -> bool:
        """Whether any case was created or given new images so far."""
        return any(c.outcome in (Outcome.CREATED, Outcome.UPDATED) for c in self.cases)

    def add(self, level: Level, message: str, **where) -> Problem:
        problem = Problem(level=level, message=str(message), **where)
        self.learn_names(problem.file, problem.source)
        self.problems.append(problem)
        return problem

    def learn_names(self, *names: str, local_patient_id: str = "") -> None:
        """Remember file, folder or path names the report may mention, so that the ones the
        policy withholds never reach what is stored; `local_patient_id` withholds those that
        spell the case's patient ID too."""
        for name in names:
            if not name:
                continue
            parts = [name, *(part for part in re.split(r"[/\\]", name) if part and part != name)]
            for part in parts:
                shown = filenames.stored_path(part, local_patient_id=local_patient_id)
                if shown != part:
                    self.withheld_names.setdefault(part, shown)

    def learn_reference(self, reference: str, *, local_patient_id: str) -> None:
        """A case reference stays as the source gave it (a data manager finds the case by it),
        unless it spells the patient's ID: then it is withheld like a file name."""
        if reference and filenames.spells_patient_id(reference, local_patient_id):
            self.withheld_names.setdefault(reference, filenames.withheld_name(reference))

    def error(self, message: str, **where) -> Problem:
        return self.add(Level.ERROR, message, **where)

    def warning(self, message: str, **where) -> Problem:
        return self.add(Level.WARNING, message, **where)

    def info(self, message: str, **where) -> Problem:
        return self.add(Level.INFO, message, **where)

    def extend(self, other: IngestReport) -> None:
        self.problems.extend(other.problems)
        self.cases.extend(other.cases)
        for name, shown in other.withheld_names.items():
            self.withheld_names.setdefault(name, shown)

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
            "cases_submitted": sum(c.submitted for c in self.cases),
            "cases_without_consent": sum(c.consent_basis == "" for c in self.cases),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }

    def shown_text(self) -> Callable[[str], str]:
        """A function writing a text with every withheld name in it replaced by its stand-in."""
        withheld = self.withheld_names
        # Also in another case: "Listed as aaaw1.JPG, found as AAAW1.jpg".
        lowered = {name.lower(): shown for name, shown in reversed(withheld.items())}
        learned = None
        if withheld:
            # Longest first, so "Case 002/AAAW1.jpg" goes whole before "AAAW1.jpg" is looked for.
            alternatives = "|".join(map(re.escape, sorted(withheld, key=len, reverse=True)))
            learned = re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-])", re.IGNORECASE)

        def stand_in(match: re.Match) -> str:
            name = match.group()
            return withheld.get(name) or lowered.get(name.lower()) or filenames.withheld_name(name)

        def shown(text: str) -> str:
            if not text:
                return text
            if learned is not None:
                text = learned.sub(stand_in, text)
            return _FILE_LIKE.sub(lambda m: filenames.stored_name(m.group()), text)

        return shown

    def to_dict(self) -> dict:
        """The report as it is stored and shown: withheld file names replaced everywhere."""
        # Sources are set on the entries after they were added (ingest_paths): learn them now.
        self.learn_names(*{entry.source for entry in [*self.problems, *self.cases]})
        shown = self.shown_text()
        names = ("file", "case", "source", "message")
        return {
            "source": shown(self.source),
            "format": self.format,
            "summary": self.summary(),
            "cases": [
                {**asdict(c), "reference": shown(c.reference), "source": shown(c.source)}
                for c in self.cases
            ],
            "problems": [
                {**asdict(p), **{name: shown(getattr(p, name)) for name in names}}
                for p in self.problems
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
