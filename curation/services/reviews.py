"""The review queue's writes: cases entering the queue, claims handed out and given back, flags,
outlines, decisions, consensus, adjudication (docs/review.md, "The queue, claims and consensus").

This module is the interface: the queue and the claims are here; the reviewer's work on a claim
(flags, outlines) is in review_work, the decisions, consensus and adjudication in
review_decisions, what they share (limits, settings, the history entry, the claim check) in
review_common, and this module exports them all.

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

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import review_selectors as selectors
from curation.models import (
    EntryStatus,
    QueueEntry,
    Review,
    ReviewStatus,
)
from curation.services.review_common import (  # noqa: F401 - the settings' readers, public here
    BATCH,
    CLAIM_ATTEMPTS,
    URGENT_REASON_MAX_LENGTH,
    _clean_text,
    _event,
    agreement_rules,
    claim_minutes,
    opinion_fields,
    reviews_required,
)
from curation.services.review_decisions import (  # noqa: F401 - the public interface, here
    adjudicate,
    clean_label_opinions,
    decide,
)
from curation.services.review_work import (  # noqa: F401 - the public interface, here
    add_flag,
    add_outline,
    clean_points,
    remove_flag,
    remove_outline,
)
from imagebank.lifecycle import CaseState
from imagebank.models import Case, User
from imagebank.reconcile import Backlog, Outcome

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


def _lock_reviewer(reviewer) -> tuple[bool, bool]:
    """Lock the reviewer's row: one hand-out at a time per reviewer (a double click must not give
    two cases); a no-op on SQLite, where the transaction's write lock already serialises
    everything. The same round trip says whether the hand-out's urgent and returning tiers can
    hold anything at all (rarely): (urgent, returning)."""
    row = (
        User.objects.select_for_update(of=("self",))
        .filter(pk=reviewer.pk)
        .annotate(
            any_urgent=Exists(selectors.urgent_waiting()),
            any_returning=Exists(selectors.returning_waiting(reviewer)),
        )
        .values_list("any_urgent", "any_returning")
        .order_by()
    )
    found = list(row)
    return found[0] if found else (True, True)


def _expire(review: Review, now: datetime, *, status: str = ReviewStatus.EXPIRED) -> bool:
    """Compare and set: the claim is ended only if it is still the one that was read."""
    ended = Review.objects.filter(
        pk=review.pk, status=ReviewStatus.CLAIMED, claim_expires=review.claim_expires
    ).update(status=status)
    if ended:
        _event(
            review.case_id,
            None,
            "claim_expired" if status == ReviewStatus.EXPIRED else "released",
            review=review.pk,
        )
    return bool(ended)


CLAIM_COLUMNS = ("entry", "case", "reviewer", "status", "claimed_at", "claim_expires")


def _current_claim(reviewer, now: datetime) -> Review | None:
    """The reviewer's live claim; their claims past expiry (or on a case no longer waiting) are
    ended on the way."""
    held = (
        Review.objects.filter(reviewer=reviewer, status=ReviewStatus.CLAIMED)
        .select_related("entry", "case")
        # What deciding needs (and the claim's own columns): the case's many columns would cost
        # more to put in the query than the query costs to run.
        .only(*CLAIM_COLUMNS, "entry__status", "case__state")
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
            claims = list(Review.objects.filter(entry=entry, status=ReviewStatus.CLAIMED))
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
                entry.case_id,
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
        urgent, returning = _lock_reviewer(reviewer)
        current = _current_claim(reviewer, now)
        if current is not None:
            current.newly_claimed = False
            return current
        tried: list[int] = []
        attempts = 0
        for tier in selectors.handout_tiers(reviewer, now, urgent=urgent, returning=returning):
            # PostgreSQL: an entry row another hand-out holds is skipped, not waited for. SQLite
            # has no row locks and ignores this (its transactions are serialised; the
            # constraints guard the claim).
            tier = tier.select_for_update(skip_locked=True, of=("self",))
            while attempts < CLAIM_ATTEMPTS:
                candidates = tier.exclude(pk__in=tried) if tried else tier
                entry = next(iter(candidates[:1]), None)
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
