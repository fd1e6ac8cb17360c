"""The one writer of an access request's state (access_requests.lifecycle's machine).

It lives apart from the request services so that both they (approval creates a grant) and the
grant services (a grant's end ends its request) can use it without importing each other; it is
exported as access_requests.services.requests.transition_request, the name the lifecycle gives.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests.lifecycle import NEEDS_REASON, RequestState, assert_transition
from access_requests.models import AccessRequest, RequestTransition

REASON_MAX_LENGTH = 5000
# States that close a committee round: the request carries the decision's time and reason.
DECISIONS = frozenset(
    {RequestState.APPROVED, RequestState.REJECTED, RequestState.CHANGES_REQUESTED}
)


def transition_request(
    request: AccessRequest, *, to_state: str, actor, reason: str = ""
) -> AccessRequest:
    """Move a request to `to_state`, and write the step to its history (who, from, to, why).

    No permission check here: the use cases that call it (submit, the committee's decision, a
    grant's end) check who may. The row is locked so that two decisions cannot both start from
    the same state. Entering a decision records its time and reason on the request; a
    resubmission clears them (they stay in the history), so the request shows the decision of
    the round in progress only. `actor` is None for the bank's own steps (expiry).
    """
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("Keep the reason under %(n)d characters.") % {"n": REASON_MAX_LENGTH}}
        )
    with transaction.atomic():
        locked = AccessRequest.objects.select_for_update().get(pk=request.pk)
        assert_transition(locked.state, to_state)
        if to_state in NEEDS_REASON and not reason:
            raise ValidationError({"reason": _("Give a reason: the requester reads it.")})
        from_state, now = locked.state, timezone.now()
        locked.state = to_state
        fields = ["state"]
        if to_state == RequestState.SUBMITTED:
            locked.submitted_at, locked.decided_at, locked.decision_reason = now, None, ""
            fields += ["submitted_at", "decided_at", "decision_reason"]
        elif to_state in DECISIONS:
            locked.decided_at, locked.decision_reason = now, reason
            fields += ["decided_at", "decision_reason"]
        locked.save(update_fields=fields)
        RequestTransition.objects.create(
            request=locked, actor=actor, from_state=from_state, to_state=to_state, reason=reason
        )
    for field in fields:
        setattr(request, field, getattr(locked, field))
    return request
