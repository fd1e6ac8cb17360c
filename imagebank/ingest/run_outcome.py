"""What an import run came to, in words and a colour, from its status and its report's summary.

`IngestRun.status` says where the work stands (queued, running, done, failed) and is an API
contract; a run that is "done" may still have brought nothing in (every case rejected, or every
image already in the bank). The import list, the import page and the API all show the outcome
derived here, so they never disagree and a run that imported nothing is never a green "Done".
"""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class RunOutcome:
    code: str  # stable, for scripts and CSS: see OUTCOMES
    label: Any  # a lazy translation
    tone: str  # "ok", "warn", "error", "neutral" or "busy": the badge's colour


OUTCOMES = {
    outcome.code: outcome
    for outcome in (
        RunOutcome("queued", _("Waiting for a worker"), "busy"),
        RunOutcome("running", _("Running"), "busy"),
        RunOutcome("failed", _("Failed"), "error"),
        RunOutcome("done", _("Done"), "ok"),
        RunOutcome("done_with_errors", _("Done with errors"), "warn"),
        RunOutcome("nothing_imported", _("Nothing imported"), "error"),
        RunOutcome("nothing_new", _("Nothing new: already in the bank"), "neutral"),
    )
}


def run_outcome(status: str, summary: dict[str, Any] | None) -> RunOutcome:
    """The outcome of a run with this status and report summary (the report's "summary")."""
    if status != "done":
        return OUTCOMES.get(status, OUTCOMES["failed"])
    counts = {key: int(value or 0) for key, value in (summary or {}).items()}
    came_in = counts.get("cases_created", 0) + counts.get("cases_updated", 0)
    trouble = (
        counts.get("errors", 0) + counts.get("cases_rejected", 0) + counts.get("images_left_out", 0)
    )
    if not came_in:
        if counts.get("cases_unchanged", 0) and not trouble:
            return OUTCOMES["nothing_new"]
        return OUTCOMES["nothing_imported"]
    return OUTCOMES["done_with_errors"] if trouble else OUTCOMES["done"]
