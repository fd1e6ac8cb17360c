"""The access request's and the grant's state machines, in one place.

Request: draft → submitted → changes_requested → submitted … → approved | rejected;
approved → expired | revoked | closed (the grant's end, mirrored on the request). Grant: active →
expired | revoked | closed. Every transition is made by
access_requests.services.requests.transition_request and written to the request's history
(RequestTransition: who, when, from, to, why).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class RequestState(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Draft")
    SUBMITTED = "submitted", gettext_lazy("Submitted")
    CHANGES_REQUESTED = "changes_requested", gettext_lazy("Changes requested")
    APPROVED = "approved", gettext_lazy("Approved")
    REJECTED = "rejected", gettext_lazy("Rejected")
    EXPIRED = "expired", gettext_lazy("Expired")
    REVOKED = "revoked", gettext_lazy("Revoked")
    CLOSED = "closed", gettext_lazy("Closed")


TRANSITIONS: dict[str, frozenset[str]] = {
    RequestState.DRAFT: frozenset({RequestState.SUBMITTED}),
    RequestState.SUBMITTED: frozenset(
        {RequestState.CHANGES_REQUESTED, RequestState.APPROVED, RequestState.REJECTED}
    ),
    RequestState.CHANGES_REQUESTED: frozenset({RequestState.SUBMITTED}),
    RequestState.APPROVED: frozenset(
        {RequestState.EXPIRED, RequestState.REVOKED, RequestState.CLOSED}
    ),
    RequestState.REJECTED: frozenset(),
    RequestState.EXPIRED: frozenset(),
    RequestState.REVOKED: frozenset(),
    RequestState.CLOSED: frozenset(),
}
# A reason is required to enter these states (the committee's or the curator's words).
NEEDS_REASON = frozenset(
    {RequestState.REJECTED, RequestState.REVOKED, RequestState.CHANGES_REQUESTED}
)
# The requester may edit the request only in these states.
EDITABLE = frozenset({RequestState.DRAFT, RequestState.CHANGES_REQUESTED})


class GrantState(models.TextChoices):
    ACTIVE = "active", gettext_lazy("Active")
    EXPIRED = "expired", gettext_lazy("Expired")
    REVOKED = "revoked", gettext_lazy("Revoked")
    CLOSED = "closed", gettext_lazy("Closed")


def assert_transition(from_state: str, to_state: str) -> None:
    if to_state not in TRANSITIONS.get(from_state, frozenset()):
        raise ValidationError(
            {
                "state": _("A request cannot go from “%(from)s” to “%(to)s”.")
                % {"from": RequestState(from_state).label, "to": RequestState(to_state).label}
            }
        )
