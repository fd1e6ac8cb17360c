"""The case lifecycle: its states and the only transitions allowed between them.

Services consult `assert_transition` before changing a case's state and write every transition to
the audit trail; nothing else changes `Case.state`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    QUALITY_CHECKS = "quality_checks", _("Quality checks")
    IN_REVIEW = "in_review", _("In review")
    RETURNED = "returned", _("Returned to contributor")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


TRANSITIONS: dict[str, frozenset[str]] = {
    CaseState.DRAFT: frozenset({CaseState.SUBMITTED}),
    CaseState.SUBMITTED: frozenset({CaseState.QUALITY_CHECKS}),
    CaseState.QUALITY_CHECKS: frozenset({CaseState.IN_REVIEW}),
    CaseState.IN_REVIEW: frozenset({CaseState.RETURNED, CaseState.ACCEPTED, CaseState.REJECTED}),
    CaseState.RETURNED: frozenset({CaseState.SUBMITTED}),
    CaseState.ACCEPTED: frozenset(),
    CaseState.REJECTED: frozenset(),
}

# Contributors may change metadata and images only while the case is in their hands.
EDITABLE_STATES = frozenset({CaseState.DRAFT, CaseState.RETURNED})
# States a reviewer can see: everything that has left the contributor.
SUBMITTED_STATES = frozenset(set(CaseState) - {CaseState.DRAFT})
# Decisions that need a written reason in the audit trail.
STATES_NEEDING_REASON = frozenset({CaseState.RETURNED, CaseState.REJECTED})


def _label(state: str) -> str:
    return str(CaseState(state).label) if state in CaseState.values else str(state)


class IllegalTransition(Exception):
    def __init__(self, from_state: str, to_state: str) -> None:
        self.from_state, self.to_state = from_state, to_state
        super().__init__(
            _("A case cannot go from “%(from)s” to “%(to)s”.")
            % {"from": _label(from_state), "to": _label(to_state)}
        )


def can_transition(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, frozenset())


def assert_transition(from_state: str, to_state: str) -> None:
    if not can_transition(from_state, to_state):
        raise IllegalTransition(from_state, to_state)
