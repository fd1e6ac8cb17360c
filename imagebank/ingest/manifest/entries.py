"""What the parser gives back: a `Manifest` of cases, images and problems, or a `ManifestError`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imagebank.ingest.report import Level


class ManifestError(ValueError):
    """The manifest as a whole cannot be read; the message is meant for the person who wrote it."""

    def __init__(self, message: str, *, row: int | None = None, field: str = "") -> None:
        super().__init__(message)
        self.message, self.row, self.field = message, row, field


@dataclass
class Problem:
    level: Level
    message: str
    row: int | None = None
    field: str = ""
    case: str = ""


@dataclass
class ImageEntry:
    file: str  # relative POSIX path inside the package, checked for safety
    step: str  # a code of vocab.EXAMINATION_STEP
    step_original_wording: str = ""
    order: int | None = None
    capture_device: str = ""
    row: int | None = None
    where: str = ""  # JSON path of the entry ("cases[0].images[1]"); empty for CSV


@dataclass
class CaseEntry:
    case_id: str
    local_patient_id: str
    metadata: dict[str, Any] = field(default_factory=dict)  # clinical fields as codes
    images: list[ImageEntry] = field(default_factory=list)
    metadata_valid: bool = True


@dataclass
class Manifest:
    cases: list[CaseEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, level: Level, message: str, **where: Any) -> None:
        self.problems.append(Problem(level, str(message), **where))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == Level.ERROR]


def join(where: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{where}[{name}]"
    return f"{where}.{name}" if where else name
