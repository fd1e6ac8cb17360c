"""What the review queue's writes share (curation.services.reviews, review_work,
review_decisions): limits, the review settings read and checked, the case-history entry, and the
checks of a live claim and of the ids a reviewer sends."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import consensus
from curation import review_selectors as selectors
from curation.models import (
    Decision,
    EntryStatus,
    Review,
    ReviewStatus,
)
from imagebank import vocabularies as vocab
from imagebank.lifecycle import CaseState
from imagebank.models import Case, CaseEvent, Image
from imagebank.services.cases import record_event

# A hand-out tries at most this many candidates (each refused only when another reviewer took it
# between the candidate query and the claim) before answering that nothing is free.
CLAIM_ATTEMPTS = 5
# The reconciler's pass handles at most this many claims and cases; the next pass goes on.
BATCH = 500
MESSAGE_MAX_LENGTH = 5000
NOTE_MAX_LENGTH = 500
URGENT_REASON_MAX_LENGTH = 200
MAX_REASONS = 20
MAX_EXCLUDED_IMAGES = 500
MAX_OUTLINE_POINTS = 2000
MAX_ID = selectors.MAX_ID

# The clinical labels a reviewer may give an opinion on (the case keeps the contributor's value):
# TZ type, SCJ visibility, the colposcopic impression, the Swede score and its components, and
# any other coded label the agreement rules name.
OPINION_FIELDS = (
    "transformation_zone",
    "scj_visibility",
    "provisional_diagnosis",
    *vocab.SWEDE_COMPONENTS,
    "swede_total",
)

_OUTCOME_OF = {
    Decision.ACCEPT: CaseState.ACCEPTED,
    Decision.REJECT: CaseState.REJECTED,
    Decision.RETURN: CaseState.RETURNED,
}


# --- settings -----------------------------------------------------------------------------------


def claim_minutes() -> int:
    minutes = settings.REVIEW_CLAIM_MINUTES
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        raise ImproperlyConfigured("REVIEW_CLAIM_MINUTES must be a whole number of minutes >= 1.")
    return minutes


def reviews_required() -> int:
    required = settings.REVIEWS_REQUIRED
    if isinstance(required, bool) or not isinstance(required, int) or not 1 <= required <= 10:
        raise ImproperlyConfigured("REVIEWS_REQUIRED must be a whole number from 1 to 10.")
    return required


def agreement_rules() -> dict[str, Any]:
    return consensus.check_rules(settings.REVIEW_AGREEMENT)


def opinion_fields() -> tuple[str, ...]:
    from imagebank.models import CODED_FIELDS

    named = [label for label in agreement_rules() if label in CODED_FIELDS]
    return tuple(dict.fromkeys([*OPINION_FIELDS, *named]))


# --- history ------------------------------------------------------------------------------------


def _event(case: Case | int, actor, action: str, *, reason: str = "", **changes: Any) -> CaseEvent:
    return record_event(
        case, actor, CaseEvent.Kind.REVIEW, reason=reason, changes={"action": action, **changes}
    )


# --- checks shared by the reviewer's work and the decisions ---------------------------------


def _live_claim(review: Review, actor=None) -> Review:
    """The review, locked and fresh, if it is a live claim its reviewer may still work on."""
    review = (
        Review.objects.select_for_update(of=("self",))
        .select_related("entry", "case", "reviewer")
        .get(pk=review.pk)
    )
    if actor is not None and actor.pk != review.reviewer_id:
        raise PermissionDenied(_("This is not your review."))
    if not selectors.can_review(review.reviewer):
        raise PermissionDenied(_("Only reviewers review cases."))
    if (
        review.status != ReviewStatus.CLAIMED
        or review.claim_expires <= timezone.now()
        or review.entry.status != EntryStatus.WAITING
    ):
        raise PermissionDenied(
            _("Your claim on this case is no longer held: ask for the next case.")
        )
    return review


def _clean_text(value: Any, field: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: _("Give text.")})
    value = value.strip()
    if len(value) > limit:
        raise ValidationError({field: _("Give at most %(limit)s characters.") % {"limit": limit}})
    return value


def _is_id(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and 1 <= value <= MAX_ID


def _image_id(value: Any, field: str) -> int:
    if isinstance(value, Image):
        return value.pk
    if not _is_id(value):
        raise ValidationError({field: _("Give an image id.")})
    return value


def _image_of_case(case_id: int, value: Any, field: str = "image") -> Image:
    image = Image.objects.filter(case_id=case_id, pk=_image_id(value, field)).first()
    if image is None:
        raise ValidationError({field: _("Not an image of this case.")})
    return image


def _object_id(value: Any, field: str) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not _is_id(value):
        raise ValidationError({field: _("Give an id.")})
    return value
