"""The benchmark job's state machine, in one place.

queued → running → succeeded | failed | cancelled; queued → cancelled | failed; running → queued
(the reconciler, when the worker died and attempts remain). Every transition is made by
model_bench.services.jobs.transition, conditionally on the state read (so that a worker
finishing and the reconciler passing at once never undo each other), and written to JobEvent.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from model_bench.models import JobState, SubmissionState

TRANSITIONS: dict[str, frozenset[str]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED, JobState.FAILED}),
    JobState.RUNNING: frozenset(
        {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.QUEUED}
    ),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


def can_transition(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, frozenset())


def assert_transition(from_state: str, to_state: str) -> None:
    if not can_transition(from_state, to_state):
        raise ValidationError(
            {
                "state": _("A job cannot go from “%(from)s” to “%(to)s”.")
                % {"from": JobState(from_state).label, "to": JobState(to_state).label}
            }
        )


# --- submissions ---------------------------------------------------------------------------------
# received → scoring → scored | invalid | failed; received → invalid | failed (refused before a
# worker took it); scoring → received (the reconciler, when the worker died and attempts remain).

SUBMISSION_TRANSITIONS: dict[str, frozenset[str]] = {
    SubmissionState.RECEIVED: frozenset(
        {SubmissionState.SCORING, SubmissionState.INVALID, SubmissionState.FAILED}
    ),
    SubmissionState.SCORING: frozenset(
        {
            SubmissionState.SCORED,
            SubmissionState.INVALID,
            SubmissionState.FAILED,
            SubmissionState.RECEIVED,
        }
    ),
    SubmissionState.SCORED: frozenset(),
    SubmissionState.INVALID: frozenset(),
    SubmissionState.FAILED: frozenset(),
}


def can_transition_submission(from_state: str, to_state: str) -> bool:
    return to_state in SUBMISSION_TRANSITIONS.get(from_state, frozenset())
