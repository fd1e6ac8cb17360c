"""The automated checks: what each one is, and the registry the runner walks.

A check is a function of one image's `ImageContext` (or, for a case-level check, of the case's
`CaseContext`) returning a `Finding`. The runner (curation.services.checks) calls each check in
its own try, so one that crashes records an `error` verdict for that image and the others still
run; it stores one CheckResult per image, check and version.

Bump a check's `version` whenever what it measures or how it decides changes: results of the old
version stay (a release records which version it used), and `run_checks --force` adds the new.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["image", "case"]


@dataclass
class Finding:
    """What a check found on one image or case."""

    verdict: str  # curation.models.Verdict values
    detail: str  # one sentence a reviewer understands, in the active language
    value: float | None = None
    threshold: float | None = None  # the limit the value was compared with for this verdict
    overlay: bytes | None = None  # a PNG mask over the preview, when it helps
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    name: str
    version: str
    level: Level
    run: Callable = field(repr=False)
    label: str = ""  # shown to people (a lazy translation)


_checks: dict[str, Check] = {}


def register(check: Check) -> Check:
    _checks[check.name] = check
    return check


def checks(level: Level | None = None) -> tuple[Check, ...]:
    return tuple(c for c in _checks.values() if level is None or c.level == level)


def get(name: str) -> Check:
    return _checks[name]
