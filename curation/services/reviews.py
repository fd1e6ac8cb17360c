"""The review queue's writes: cases entering the queue, claims handed out and given back, flags,
outlines, decisions, consensus, adjudication (docs/review.md, "The queue, claims and consensus").

Rules the database keeps whatever the concurrency (curation.models.reviews): at most one live
claim per entry (`review_one_claim_per_entry`) and one claim or review per reviewer and entry
(`review_one_per_reviewer_entry`). The hand-out (claim_next) on PostgreSQL locks the candidate
entry row with SELECT … FOR UPDATE SKIP LOCKED, so reviewers asking at once are handed different
cases without waiting for each other; on SQLite (no row locks; every transaction takes the write
lock when it begins, see config/settings.py) the constraints are the guard: the claim is made in
a savepoint and, refused, the next candidate is tried.

Every function raises ValidationError({field: message}) on bad input and PermissionDenied when
the actor may not, and writes what it did to the case's history (CaseEvent kind "review",
changes["action"]); the case's state changes only through imagebank.services.cases.
transition_case.
"""

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import consensus
from curation import eligibility as checklist
from curation import review_selectors as selectors
from curation.models import (
    Adjudication,
    Decision,
    EntryStatus,
    FlagReason,
    ImageExclusion,
    ImageFlag,
    Outline,
    OutlineKind,
    QueueEntry,
    RejectReason,
    Review,
    ReviewStatus,
)
from curation.services.notices import notify_adjudication_waiting, notify_case_decided
from imagebank import vocabularies as vocab
from imagebank.lifecycle import CaseState
from imagebank.models import Case, CaseEvent, Image, User
from imagebank.reconcile import Backlog, Outcome
from imagebank.services.cases import record_event, transition_case

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


def _event(case: Case, actor, action: str, *, reason: str = "", **changes: Any) -> CaseEvent:
    return record_event(
        case, actor, CaseEvent.Kind.REVIEW, reason=reason, changes={"action": action, **changes}
    )


# --- the queue ----------------------------------------------------------------------------------


def enqueue_case(case: Case, *, actor=None) -> QueueEntry:
    """Put a case in review into the queue: a new round (previous rounds + 1) needing
    REVIEWS_REQUIRED reviews. Idempotent: the case's entry still in review is returned as is."""
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if case.state != CaseState.IN_REVIEW:
            raise ValidationError({"case": _("Only a case in review enters the review queue.")})
        live = selectors.live_entry(case)
        if live is not None:
            return live
        last_round = QueueEntry.objects.filter(case=case).aggregate(last=Max("round"))["last"]
        round_number = (last_round or 0) + 1
        try:
            with transaction.atomic():
                entry = QueueEntry.objects.create(
                    case=case,
                    round=round_number,
                    entered_at=timezone.now(),
                    reviews_required=reviews_required(),
                )
        except IntegrityError:
            # Another pass enqueued this round meanwhile (SQLite: no row lock on the case).
            return QueueEntry.objects.get(case=case, round=round_number)
        # No history entry of its own: the transition to "in review" is the case's entry.
        return entry


def withdraw_entries(case: Case) -> int:
    """The case left review some other way (not through its reviews): its live entries are
    withdrawn and their claims released. Returns how many entries."""
    entries = list(
        QueueEntry.objects.select_for_update().filter(
            case=case, status__in=selectors.LIVE_ENTRY_STATUSES
        )
    )
    for entry in entries:
        QueueEntry.objects.filter(pk=entry.pk).update(status=EntryStatus.WITHDRAWN)
        Review.objects.filter(entry=entry, status=ReviewStatus.CLAIMED).update(
            status=ReviewStatus.RELEASED
        )
    # No history entry of its own: the transition that took the case out of review is it.
    return len(entries)


def on_case_transitioned(sender, case: Case, from_state: str, to_state: str, **kwargs) -> None:
    """imagebank.hooks.case_transitioned: a case reaching review enters the queue, in the
    transition's own transaction; a case leaving review another way leaves it."""
    if to_state == CaseState.IN_REVIEW:
        enqueue_case(case)
    elif from_state == CaseState.IN_REVIEW:
        withdraw_entries(case)


def mark_urgent(entry: QueueEntry, *, curator, urgent: bool, reason: str = "") -> QueueEntry:
    """A curator moves an entry to the front of the queue (or back among the others)."""
    if not selectors.can_adjudicate(curator):
        raise PermissionDenied(_("Only curators mark cases urgent."))
    if not isinstance(urgent, bool):
        raise ValidationError({"urgent": _("Give true or false.")})
    reason = _clean_text(reason, "reason", URGENT_REASON_MAX_LENGTH)
    with transaction.atomic():
        entry = QueueEntry.objects.select_for_update().select_related("case").get(pk=entry.pk)
        if entry.status not in selectors.LIVE_ENTRY_STATUSES:
            raise ValidationError({"entry": _("This case is no longer in the review queue.")})
        entry.urgent = urgent
        entry.urgent_reason = reason if urgent else ""
        entry.save(update_fields=["urgent", "urgent_reason"])
        _event(
            entry.case,
            curator,
            "marked_urgent" if urgent else "unmarked_urgent",
            reason=reason,
            round=entry.round,
        )
    return entry


# --- claims -------------------------------------------------------------------------------------


def _lock_reviewer(reviewer) -> None:
    # One hand-out at a time per reviewer (a double click must not give two cases); a no-op on
    # SQLite, where the transaction's write lock already serialises everything.
    list(User.objects.select_for_update().filter(pk=reviewer.pk).values_list("pk", flat=True))


def _expire(review: Review, now: datetime, *, status: str = ReviewStatus.EXPIRED) -> bool:
    """Compare and set: the claim is ended only if it is still the one that was read."""
    ended = Review.objects.filter(
        pk=review.pk, status=ReviewStatus.CLAIMED, claim_expires=review.claim_expires
    ).update(status=status)
    if ended:
        _event(
            review.case,
            None,
            "claim_expired" if status == ReviewStatus.EXPIRED else "released",
            review=review.pk,
        )
    return bool(ended)


def _current_claim(reviewer, now: datetime) -> Review | None:
    """The reviewer's live claim; their claims past expiry (or on a case no longer waiting) are
    ended on the way."""
    held = (
        Review.objects.filter(reviewer=reviewer, status=ReviewStatus.CLAIMED)
        .select_related("entry", "case")
        .order_by("claimed_at", "pk")[:CLAIM_ATTEMPTS]
    )
    current = None
    for review in held:
        live = (
            review.claim_expires > now
            and review.entry.status == EntryStatus.WAITING
            and review.case.state == CaseState.IN_REVIEW
        )
        if live and current is None:
            current = review
        elif not live:
            _expire(review, now)
    return current


def _claim(entry: QueueEntry, reviewer, now: datetime) -> Review | None:
    """The claim on `entry`, or None when another reviewer got there first."""
    try:
        with transaction.atomic():
            # A fresh statement: under READ COMMITTED it sees claims committed since the
            # candidate query began (the lock on the entry row does not cover them).
            claims = list(
                Review.objects.filter(entry=entry, status=ReviewStatus.CLAIMED).select_related(
                    "case"
                )
            )
            if any(claim.claim_expires > now for claim in claims):
                return None
            for claim in claims:  # past its expiry: the entry is free
                _expire(claim, now)
            review = Review.objects.create(
                entry=entry,
                case_id=entry.case_id,
                reviewer=reviewer,
                status=ReviewStatus.CLAIMED,
                claimed_at=now,
                claim_expires=now + timedelta(minutes=claim_minutes()),
            )
            _event(
                entry.case,
                reviewer,
                "claimed",
                review=review.pk,
                round=entry.round,
                claim_expires=review.claim_expires.isoformat(),
            )
            return review
    except IntegrityError:
        return None  # the constraints refused it: someone else holds it, or it is already ours


def claim_next(reviewer) -> Review | None:
    """Hand the reviewer the next case (curation.review_selectors.handout_tiers), or None when
    nothing is waiting for them. A reviewer holding a live claim gets it back (one case at a
    time); `review.newly_claimed` says which."""
    if not selectors.can_review(reviewer):
        raise PermissionDenied(_("Only reviewers are handed cases to review."))
    now = timezone.now()
    with transaction.atomic():
        _lock_reviewer(reviewer)
        current = _current_claim(reviewer, now)
        if current is not None:
            current.newly_claimed = False
            return current
        tried: list[int] = []
        attempts = 0
        for tier in selectors.handout_tiers(reviewer, now):
            while attempts < CLAIM_ATTEMPTS:
                candidates = tier.select_related("case")
                if tried:
                    candidates = candidates.exclude(pk__in=tried)
                # PostgreSQL: an entry row another hand-out holds is skipped, not waited for;
                # only the entry row is locked (not the case joined in). SQLite has no row locks
                # and ignores this (its transactions are serialised; the constraints guard the
                # claim).
                candidates = candidates.select_for_update(skip_locked=True, of=("self",))
                entry = candidates.first()
                if entry is None:
                    break  # this tier has nothing (left): the next one
                attempts += 1
                tried.append(entry.pk)
                review = _claim(entry, reviewer, now)
                if review is not None:
                    review.newly_claimed = True
                    return review
    return None


def release(review: Review, *, actor) -> Review:
    """Give the claim back: the case returns to the queue for the next reviewer. The reviewer
    (or a curator) releases it."""
    with transaction.atomic():
        review = Review.objects.select_for_update().select_related("case").get(pk=review.pk)
        if actor is None or (
            actor.pk != review.reviewer_id and not selectors.can_adjudicate(actor)
        ):
            raise PermissionDenied(_("This is not your review."))
        if review.status != ReviewStatus.CLAIMED:
            raise ValidationError({"review": _("This claim is no longer held.")})
        review.status = ReviewStatus.RELEASED
        review.save(update_fields=["status"])
        _event(review.case, actor, "released", review=review.pk)
    return review


def expire_claims(now: datetime | None = None) -> int:
    """End the claims past their expiry (at most BATCH a call): their cases go back to the queue.
    Returns how many."""
    now = now or timezone.now()
    stale = (
        Review.objects.filter(status=ReviewStatus.CLAIMED, claim_expires__lte=now)
        .select_related("case")
        .order_by("claim_expires", "pk")[:BATCH]
    )
    expired = 0
    for review in stale:
        with transaction.atomic():
            expired += _expire(review, now)
    return expired


# --- the reviewer's work on a claim -------------------------------------------------------------


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


def add_flag(
    review: Review,
    *,
    image,
    reason: str,
    correct_step: str = "",
    note: str = "",
    actor=None,
) -> ImageFlag:
    """Flag an image of the claimed case with a reason code (a wrong step label with the right
    step). Flagging the same image for the same reason again updates the flag."""
    errors: dict[str, str] = {}
    if reason not in FlagReason.values:
        errors["reason"] = _("Not a flag reason: %(value)s.") % {"value": reason}
    correct_step = correct_step or ""
    if not isinstance(correct_step, str):
        errors["correct_step"] = _("Give a step code.")
        correct_step = ""
    with transaction.atomic():
        review = _live_claim(review, actor)
        image = _image_of_case(review.case_id, image)
        note = _clean_text(note, "note", NOTE_MAX_LENGTH)
        if reason == FlagReason.WRONG_STEP and "correct_step" not in errors:
            if not correct_step:
                errors["correct_step"] = _("Give the right step of the image.")
            elif correct_step not in vocab.EXAMINATION_STEP:
                errors["correct_step"] = _("Not a step code: %(value)s.") % {"value": correct_step}
            elif correct_step == image.step:
                errors["correct_step"] = _("That is the step the image already has.")
        elif correct_step and "correct_step" not in errors:
            errors["correct_step"] = _("A right step is given only for a wrong step label.")
        if errors:
            raise ValidationError(errors)
        flag, created = ImageFlag.objects.update_or_create(
            review=review,
            image=image,
            reason=reason,
            defaults={"correct_step": correct_step, "note": note},
        )
        _event(
            review.case,
            review.reviewer,
            "flag_added" if created else "flag_changed",
            review=review.pk,
            image=image.pk,
            reason=reason,
            **({"correct_step": correct_step} if correct_step else {}),
        )
    return flag


def remove_flag(review: Review, *, flag_id: int, actor=None) -> None:
    with transaction.atomic():
        review = _live_claim(review, actor)
        flag = ImageFlag.objects.filter(review=review, pk=_object_id(flag_id, "flag")).first()
        if flag is None:
            raise ValidationError({"flag": _("No such flag on your review.")})
        flag.delete()
        _event(
            review.case,
            review.reviewer,
            "flag_removed",
            review=review.pk,
            image=flag.image_id,
            reason=flag.reason,
        )


def _object_id(value: Any, field: str) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not _is_id(value):
        raise ValidationError({field: _("Give an id.")})
    return value


def clean_points(points: Any, image: Image) -> list[list[float]]:
    """A polygon in the image's own pixel coordinates: at least three [x, y] points, each inside
    the image (0 <= x <= width, 0 <= y <= height where the size is known)."""
    if not isinstance(points, list | tuple) or not 3 <= len(points) <= MAX_OUTLINE_POINTS:
        raise ValidationError(
            {
                "points": _("Give between 3 and %(limit)s points [x, y].")
                % {"limit": MAX_OUTLINE_POINTS}
            }
        )
    cleaned = []
    for point in points:
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or any(
                isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
                for v in point
            )
        ):
            raise ValidationError({"points": _("Each point is [x, y], two numbers.")})
        x, y = float(point[0]), float(point[1])
        if (
            x < 0
            or y < 0
            or (image.width and x > image.width)
            or (image.height and y > image.height)
        ):
            raise ValidationError(
                {
                    "points": _("Every point must lie inside the image (%(width)s × %(height)s).")
                    % {"width": image.width, "height": image.height}
                }
            )
        cleaned.append([round(x, 2), round(y, 2)])
    if len({tuple(point) for point in cleaned}) < 3:
        raise ValidationError({"points": _("An outline needs at least three distinct points.")})
    return cleaned


def add_outline(review: Review, *, image, kind: str, points, actor=None) -> Outline:
    """A polygon drawn on an image of the claimed case (a lesion, the cervix or the SCJ)."""
    if kind not in OutlineKind.values:
        raise ValidationError({"kind": _("Not an outline kind: %(value)s.") % {"value": kind}})
    with transaction.atomic():
        review = _live_claim(review, actor)
        image = _image_of_case(review.case_id, image)
        cleaned = clean_points(points, image)
        outline = Outline.objects.create(review=review, image=image, kind=kind, points=cleaned)
        _event(
            review.case,
            review.reviewer,
            "outline_added",
            review=review.pk,
            image=image.pk,
            kind=kind,
            outline=outline.pk,
            points=len(cleaned),
        )
    return outline


def remove_outline(review: Review, *, outline_id: int, actor=None) -> None:
    with transaction.atomic():
        review = _live_claim(review, actor)
        outline = Outline.objects.filter(
            review=review, pk=_object_id(outline_id, "outline")
        ).first()
        if outline is None:
            raise ValidationError({"outline": _("No such outline on your review.")})
        outline.delete()
        _event(
            review.case,
            review.reviewer,
            "outline_removed",
            review=review.pk,
            image=outline.image_id,
            kind=outline.kind,
            outline=outline_id,
        )


# --- decisions ----------------------------------------------------------------------------------


def _clean_decision(
    case: Case,
    *,
    decision: Any,
    reasons: Any,
    message: Any,
    excluded_images: Any,
    errors: dict[str, Any],
) -> tuple[list[str], str, list[int]]:
    """The checks a reviewer's and a curator's decisions share; problems go into `errors`."""
    if decision not in Decision.values:
        errors["decision"] = _("Give accept, reject or return.")
    cleaned_reasons: list[str] = []
    if reasons is None:
        reasons = []
    if not isinstance(reasons, list | tuple) or not all(isinstance(r, str) for r in reasons):
        errors["reasons"] = _("Give a list of reason codes.")
    elif len(reasons) > MAX_REASONS:
        errors["reasons"] = _("Give at most %(limit)s reasons.") % {"limit": MAX_REASONS}
    else:
        unknown = [code for code in reasons if code not in RejectReason.values]
        if unknown:
            errors["reasons"] = _("Not reason codes: %(codes)s.") % {"codes": ", ".join(unknown)}
        cleaned_reasons = list(dict.fromkeys(reasons))
    if "reasons" not in errors:
        if decision in (Decision.REJECT, Decision.RETURN) and not cleaned_reasons:
            errors["reasons"] = _("Give at least one reason to reject or return a case.")
        elif decision == Decision.ACCEPT and cleaned_reasons:
            errors["reasons"] = _("Reasons are given only to reject or return a case.")
    try:
        message = _clean_text(message, "message", MESSAGE_MAX_LENGTH)
    except ValidationError as error:
        errors.update(error.message_dict)
        message = ""
    else:
        if decision == Decision.RETURN and not message:
            errors["message"] = _("Tell the contributor what to change before resubmitting.")
    excluded: list[int] = []
    if excluded_images is None:
        excluded_images = []
    if not isinstance(excluded_images, list | tuple) or not all(
        _is_id(pk) for pk in excluded_images
    ):
        errors["excluded_images"] = _("Give a list of image ids.")
    elif len(excluded_images) > MAX_EXCLUDED_IMAGES:
        errors["excluded_images"] = _("Too many images.")
    else:
        wanted = set(excluded_images)
        found = set(Image.objects.filter(case=case, pk__in=wanted).values_list("pk", flat=True))
        strangers = sorted(wanted - found)
        if strangers:
            errors["excluded_images"] = _("Not images of this case: %(ids)s.") % {
                "ids": ", ".join(str(pk) for pk in strangers)
            }
        excluded = sorted(found)
    return cleaned_reasons, message, excluded


def clean_label_opinions(case: Case, opinions: Any, field: str = "label_opinions") -> dict:
    """A reviewer's (or curator's) values of the clinical labels, checked: {label: code}, the
    Swede total a whole number (worked out from the components when they are all known and the
    total is not given)."""
    from imagebank.models import CODED_FIELDS

    if opinions is None:
        return {}
    if not isinstance(opinions, Mapping):
        raise ValidationError({field: _("Give an object of labels and values.")})
    allowed = opinion_fields()
    problems: list[str] = []
    cleaned: dict[str, Any] = {}
    for label, value in opinions.items():
        if label not in allowed:
            problems.append(_("%(label)s: not a label reviewers give.") % {"label": label})
        elif value is None or value == "":
            continue  # no opinion: the contributor's value stands
        elif label == "swede_total":
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= vocab.SWEDE_MAX
            ):
                problems.append(
                    _("swede_total: give a whole number from 0 to %(max)s.")
                    % {"max": vocab.SWEDE_MAX}
                )
            else:
                cleaned[label] = value
        elif not isinstance(value, str) or value not in CODED_FIELDS[label]:
            problems.append(
                _("%(label)s: “%(value)s” is not a code of %(vocabulary)s.")
                % {"label": label, "value": value, "vocabulary": CODED_FIELDS[label].name}
            )
        else:
            cleaned[label] = value
    if problems:
        raise ValidationError({field: problems})
    if any(component in cleaned for component in vocab.SWEDE_COMPONENTS):
        points = [
            vocabulary.score(cleaned.get(component, getattr(case, component)))
            for component, vocabulary in vocab.SWEDE_COMPONENTS.items()
        ]
        if None not in points:
            total = sum(points)
            if "swede_total" not in cleaned:
                cleaned["swede_total"] = total
            elif cleaned["swede_total"] != total:
                raise ValidationError(
                    {
                        field: _("swede_total: %(total)s, but the components add up to %(sum)s.")
                        % {"total": cleaned["swede_total"], "sum": total}
                    }
                )
    return cleaned


def decide(
    review: Review,
    *,
    decision: str,
    reasons: Iterable[str] = (),
    message: str = "",
    eligibility: Mapping[str, bool] | None = None,
    label_opinions: Mapping[str, Any] | None = None,
    excluded_images: Iterable[int] = (),
    actor=None,
) -> Review:
    """The claim holder's review: accept (every required checklist item answered true), reject
    (with reason codes) or return (reason codes and a message to the contributor). The review
    that completes the round settles it (consensus, or the curators' adjudication list)."""
    with transaction.atomic():
        review = _live_claim(review, actor)
        entry = QueueEntry.objects.select_for_update().get(pk=review.entry_id)
        case = review.case
        errors: dict[str, Any] = {}
        reasons, message, excluded = _clean_decision(
            case,
            decision=decision,
            reasons=list(reasons) if isinstance(reasons, set | frozenset) else reasons,
            message=message,
            excluded_images=excluded_images,
            errors=errors,
        )
        items = checklist.active_items()
        answers: dict[str, bool] = {}
        try:
            answers = checklist.clean_answers(eligibility, items)
        except ValueError as error:
            errors["eligibility"] = str(error)
        else:
            unmet = checklist.unmet_required(answers, items)
            if decision == Decision.ACCEPT and unmet:
                errors["eligibility"] = _(
                    "A case is accepted only with every required item met; not met: %(items)s."
                ) % {"items": "; ".join(unmet)}
        opinions: dict = {}
        try:
            opinions = clean_label_opinions(case, label_opinions)
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)

        now = timezone.now()
        review.status = ReviewStatus.SUBMITTED
        review.submitted_at = now
        review.decision = decision
        review.reasons = reasons
        review.message = message
        review.eligibility = answers
        review.label_opinions = opinions
        review.excluded_images = excluded
        review.save(
            update_fields=[
                "status",
                "submitted_at",
                "decision",
                "reasons",
                "message",
                "eligibility",
                "label_opinions",
                "excluded_images",
            ]
        )
        # Compare and set: the count moves only from the value read under the lock.
        counted = QueueEntry.objects.filter(
            pk=entry.pk, status=EntryStatus.WAITING, reviews_done=entry.reviews_done
        ).update(reviews_done=F("reviews_done") + 1)
        if not counted:
            raise PermissionDenied(_("This case changed meanwhile: ask for the next case."))
        entry.reviews_done += 1
        _event(
            case,
            review.reviewer,
            "decided",
            review=review.pk,
            round=entry.round,
            decision=decision,
            reasons=reasons,
            eligibility=answers,
            **({"label_opinions": opinions} if opinions else {}),
            **({"excluded_images": excluded} if excluded else {}),
        )
        if entry.reviews_done >= entry.reviews_required:
            _finish_round(entry, case)
    return review


def _contributor_values(case: Case) -> dict[str, Any]:
    return {label: getattr(case, label, None) for label in agreement_rules()}


def _reason_labels(codes: Iterable[str]) -> str:
    return "; ".join(str(RejectReason(code).label) for code in codes if code in RejectReason.values)


def _finish_round(entry: QueueEntry, case: Case) -> None:
    """The required reviews are in: consensus, or the curators' adjudication list."""
    reviews = list(
        Review.objects.filter(entry=entry, status=ReviewStatus.SUBMITTED).order_by(
            "submitted_at", "pk"
        )
    )
    result = consensus.evaluate(
        reviews, contributor=_contributor_values(case), agreement=agreement_rules()
    )
    if result.outcome == consensus.ADJUDICATION:
        entry.status = EntryStatus.ADJUDICATION
        entry.disagreement = result.disagreement
        entry.save(update_fields=["status", "disagreement"])
        _event(
            case, None, "adjudication_needed", round=entry.round, disagreement=result.disagreement
        )
        notify_adjudication_waiting(entry)
        return
    if result.outcome == consensus.RETURNED:
        returning = [review for review in reviews if review.decision == Decision.RETURN]
        message = "\n\n".join(review.message for review in returning if review.message)
        _conclude(
            entry,
            case,
            CaseState.RETURNED,
            reason=message,
            message=message,
            reasons=consensus.reasons(returning),
            excluded=[],
            actor=None,
        )
    elif result.outcome == consensus.REJECTED:
        codes = consensus.reasons(reviews)
        _conclude(
            entry,
            case,
            CaseState.REJECTED,
            reason=_reason_labels(codes),
            message=_reason_labels(codes),
            reasons=codes,
            excluded=[],
            actor=None,
        )
    else:
        _conclude(
            entry,
            case,
            CaseState.ACCEPTED,
            reason="",
            message="",
            reasons=[],
            excluded=consensus.excluded_images(reviews),
            actor=None,
        )


def _exclude_images(entry: QueueEntry, image_ids: list[int]) -> None:
    """Keep these images out of the bank (and of every release), with the flag reasons their
    reviewers gave."""
    flags: dict[int, list[str]] = {}
    for image_id, reason in ImageFlag.objects.filter(
        review__entry=entry, review__status=ReviewStatus.SUBMITTED, image_id__in=image_ids
    ).values_list("image_id", "reason"):
        flags.setdefault(image_id, [])
        if reason not in flags[image_id]:
            flags[image_id].append(reason)
    for image_id in image_ids:
        ImageExclusion.objects.update_or_create(
            image_id=image_id,
            defaults={"entry": entry, "reasons": sorted(flags.get(image_id, []))},
        )


def _conclude(
    entry: QueueEntry,
    case: Case,
    outcome: str,
    *,
    reason: str,
    message: str,
    reasons: list[str],
    excluded: list[int],
    actor,
) -> None:
    # The entry is decided before the transition, so the transition hook (which withdraws the
    # entries of a case leaving review another way) finds nothing left to withdraw.
    entry.status = EntryStatus.DECIDED
    entry.outcome = outcome
    entry.decided_at = timezone.now()
    entry.save(update_fields=["status", "outcome", "decided_at"])
    if outcome == CaseState.ACCEPTED and excluded:
        _exclude_images(entry, excluded)
    transition_case(case=case, to_state=outcome, actor=actor, reason=reason)
    _event(
        case,
        actor,
        "round_decided",
        round=entry.round,
        outcome=outcome,
        reasons=reasons,
        **({"excluded_images": excluded} if excluded else {}),
    )
    notify_case_decided(case, outcome, message)


def adjudicate(
    entry: QueueEntry,
    *,
    curator,
    decision: str,
    reasons: Iterable[str] = (),
    message: str = "",
    label_values: Mapping[str, Any] | None = None,
    excluded_images: Iterable[int] = (),
) -> Adjudication:
    """A curator's final decision on an entry whose reviews disagree, recorded with both
    reviews. A curator who reviewed the case, or belongs to its site, does not adjudicate it."""
    if not selectors.can_adjudicate(curator):
        raise PermissionDenied(_("Only curators adjudicate."))
    with transaction.atomic():
        entry = QueueEntry.objects.select_for_update().select_related("case").get(pk=entry.pk)
        case = entry.case
        if entry.status != EntryStatus.ADJUDICATION:
            raise ValidationError({"entry": _("This case is not waiting for adjudication.")})
        if (
            Review.objects.filter(entry=entry, reviewer=curator)
            .exclude(status__in=[ReviewStatus.RELEASED, ReviewStatus.EXPIRED])
            .exists()
        ):
            raise PermissionDenied(_("You reviewed this case: another curator decides."))
        if selectors.member_site_ids(curator).filter(site_id=case.site_id).exists():
            raise PermissionDenied(_("This case is from your own site: another curator decides."))
        errors: dict[str, Any] = {}
        reasons, message, excluded = _clean_decision(
            case,
            decision=decision,
            reasons=list(reasons) if isinstance(reasons, set | frozenset) else reasons,
            message=message,
            excluded_images=excluded_images,
            errors=errors,
        )
        labels: dict = {}
        try:
            labels = clean_label_opinions(case, label_values, field="label_values")
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)
        adjudication = Adjudication.objects.create(
            entry=entry,
            curator=curator,
            decision=decision,
            reasons=reasons,
            message=message,
            label_values=labels,
            excluded_images=excluded if decision == Decision.ACCEPT else [],
        )
        reviews = list(
            Review.objects.filter(entry=entry, status=ReviewStatus.SUBMITTED).values_list(
                "pk", flat=True
            )
        )
        _event(
            case,
            curator,
            "adjudicated",
            round=entry.round,
            adjudication=adjudication.pk,
            decision=decision,
            reasons=reasons,
            reviews=reviews,
            reason=message,
        )
        outcome = _OUTCOME_OF[decision]
        if outcome == CaseState.REJECTED:
            reason = "; ".join(part for part in (_reason_labels(reasons), message) if part)
        else:
            reason = message
        _conclude(
            entry,
            case,
            outcome,
            reason=reason,
            message=reason,
            reasons=reasons,
            excluded=excluded if decision == Decision.ACCEPT else [],
            actor=curator,
        )
    return adjudication


# --- the reconciler's kind ----------------------------------------------------------------------


def reconcile_queue(now: datetime) -> Outcome:
    """One reconciler pass (imagebank.reconcile): claims past their expiry are ended (`resumed`:
    their cases are handed out again) and cases in review without a live entry, which a lost
    transition hook would leave, are enqueued (`requeued`)."""
    outcome = Outcome()
    outcome.resumed = expire_claims(now)
    live = QueueEntry.objects.filter(case=OuterRef("pk"), status__in=selectors.LIVE_ENTRY_STATUSES)
    missing = (
        Case.objects.filter(state=CaseState.IN_REVIEW)
        .filter(~Exists(live))
        .only("pk")
        .order_by("pk")[:BATCH]
    )
    for case in missing:
        try:
            enqueue_case(case)
        except ValidationError:
            continue  # it left review meanwhile
        outcome.requeued += 1
    return outcome


def queue_backlog() -> Backlog:
    """Entries waiting for reviews or for adjudication, and since when the oldest waits."""
    stats = QueueEntry.objects.filter(status__in=selectors.LIVE_ENTRY_STATUSES)
    oldest = stats.order_by("entered_at").values_list("entered_at", flat=True).first()
    return Backlog(count=stats.count(), oldest=oldest)
