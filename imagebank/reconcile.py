"""The reconciler: the database says what must happen; this makes sure it does.

Every kind of background work records its intent with its object (an image pending processing, an
import run queued, a case awaiting its checks), so a lost message loses nothing. Each kind
registers a `WorkKind` here; `reconcile_all()` (run every minute by Celery beat as the
`imagebank.tasks.reconcile` task, and by `manage.py reconcile`) asks each kind to queue again the
work whose task is missing or overdue, and to resume or fail the work whose worker died.

The apps above the core register their own kinds (curation's checks, model_bench's jobs) from
their AppConfig.ready(); the core's are in imagebank.reconcilers. docs/deployment.md, "The
reconciler", explains the rules and the settings.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backlog:
    """How much work of one kind waits, and since when the oldest item has waited."""

    count: int
    oldest: datetime | None


@dataclass
class Outcome:
    """What one pass of the reconciler did to one kind of work."""

    requeued: int = 0  # sent again: the message was lost or is overdue
    resumed: int = 0  # the worker died; taken up again from where it stopped
    failed: int = 0  # given up, with the reason recorded on the object

    def as_dict(self) -> dict[str, int]:
        return {"requeued": self.requeued, "resumed": self.resumed, "failed": self.failed}


@dataclass(frozen=True)
class WorkKind:
    """One kind of background work the reconciler watches.

    `reconcile(now)` does one pass and returns its Outcome; `backlog()` tells the operations page
    what waits. `label` is shown to curators (a lazy translation).
    """

    name: str
    label: str
    reconcile: Callable[[datetime], Outcome] = field(repr=False)
    backlog: Callable[[], Backlog] = field(repr=False)


_kinds: dict[str, WorkKind] = {}


def register_work_kind(kind: WorkKind) -> WorkKind:
    """Register (or replace, by name) a kind of work; called from an AppConfig.ready()."""
    _kinds[kind.name] = kind
    return kind


def work_kinds() -> tuple[WorkKind, ...]:
    return tuple(_kinds.values())


def reconcile_all(now: datetime | None = None) -> dict[str, dict[str, int]]:
    """One pass over every kind; a kind that fails (its service is out) does not stop the others.

    Returns {kind name: {"requeued": n, "resumed": n, "failed": n}}, and {"error": "..."} for a
    kind whose pass raised.
    """
    now = now or timezone.now()
    results: dict[str, dict] = {}
    for kind in work_kinds():
        try:
            outcome = kind.reconcile(now)
        except Exception as error:  # the next pass, a minute later, tries again
            logger.warning("reconciling %s failed: %s: %s", kind.name, type(error).__name__, error)
            results[kind.name] = {"error": f"{type(error).__name__}: {error}"[:300]}
            continue
        results[kind.name] = outcome.as_dict()
        if outcome.requeued or outcome.resumed or outcome.failed:
            logger.info("reconciled %s: %s", kind.name, outcome.as_dict())
    return results
