"""Read queries of the review queue, filtered by who asks (views, templates and the API never
filter). Blinding: a reviewer reads only their own review, its flags and outlines (own_review,
own_flags, own_outlines); every review of an entry is for curators only (reviews_of).

The hand-out's candidates (handout_tiers over eligible_entries) are a few queries whatever the
number of cases: the exclusions are anti-joins and each tier follows an index, so
curation.services.reviews.claim_next takes them LIMIT 1 at a time.
"""

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Exists, F, Min, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from curation import eligibility
from curation import selectors as check_selectors
from curation.models import (
    Adjudication,
    EntryStatus,
    ImageFlag,
    Outline,
    QueueEntry,
    Review,
    ReviewStatus,
)
from curation.roles import REVIEWER
from imagebank.lifecycle import CaseState
from imagebank.models import SiteMembership
from imagebank.roles import CURATOR, has_role

MAX_ID = 2**63 - 1  # a BigAutoField
# An entry still in the review's hands (waiting for reviews or for a curator's decision).
LIVE_ENTRY_STATUSES = (EntryStatus.WAITING, EntryStatus.ADJUDICATION)
# A review that counts as the reviewer's on an entry: never a second one by the same person.
OWN_REVIEW_STATUSES = (ReviewStatus.CLAIMED, ReviewStatus.SUBMITTED)


def can_review(user) -> bool:
    """Reviewers (the bank-wide role curation.roles.REVIEWER) are handed cases."""
    return bool(user and user.is_authenticated and user.is_active and has_role(user, REVIEWER))


def can_adjudicate(user) -> bool:
    """Curators (and superusers) decide where the reviews disagree and mark cases urgent."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or has_role(user, CURATOR)


def member_site_ids(user) -> QuerySet:
    """The sites the user is a member of, in any role: their cases are never handed to them."""
    return SiteMembership.objects.filter(user=user).values("site_id")


def eligible_entries(reviewer, now: datetime | None = None) -> QuerySet[QueueEntry]:
    """The entries `reviewer` may be handed now, oldest first (urgent ones before the rest).

    An entry is eligible while it waits for reviews (fewer done than required), its case is in
    review, nobody holds a live claim on it (a claim past its expiry is free), the reviewer has
    no claim or review of their own on it, and its case is not of a site the reviewer belongs to.
    The exclusions are anti-joins evaluated row by row along the queueentry_handout index, so a
    LIMIT stops at the first eligible entries whatever the size of the queue.
    """
    now = now or timezone.now()
    live_claim = Review.objects.filter(
        entry=OuterRef("pk"), status=ReviewStatus.CLAIMED, claim_expires__gt=now
    )
    own = Review.objects.filter(
        entry=OuterRef("pk"), reviewer=reviewer, status__in=OWN_REVIEW_STATUSES
    )
    return (
        QueueEntry.objects.filter(
            status=EntryStatus.WAITING,
            reviews_done__lt=F("reviews_required"),
            case__state=CaseState.IN_REVIEW,
        )
        .exclude(case__site_id__in=member_site_ids(reviewer))
        .filter(~Exists(live_claim), ~Exists(own))
        .order_by("-urgent", "entered_at", "pk")
    )


def urgent_waiting() -> QuerySet[QueueEntry]:
    """Entries marked urgent that wait for reviews, whoever asks. Where there are none (nearly
    always), the hand-out leaves out its urgent tier (handout_tiers)."""
    return QueueEntry.objects.filter(status=EntryStatus.WAITING, urgent=True)


def _reviewed_cases(reviewer) -> QuerySet:
    return Review.objects.filter(reviewer=reviewer, status=ReviewStatus.SUBMITTED).values("case_id")


def returning_waiting(reviewer) -> QuerySet[QueueEntry]:
    """Entries of a later round waiting for reviews, of cases the reviewer reviewed before. Where
    there are none, the hand-out leaves out its returning tier (handout_tiers)."""
    return QueueEntry.objects.filter(
        status=EntryStatus.WAITING, round__gt=1, case_id__in=_reviewed_cases(reviewer)
    )


def handout_tiers(
    reviewer, now: datetime | None = None, *, urgent: bool = True, returning: bool = True
) -> Iterator[QuerySet[QueueEntry]]:
    """The eligible entries in the order they are handed out, as querysets each taken LIMIT 1
    (curation.services.reviews.claim_next): urgent ones; then, for a resubmitted case, the ones
    whose previous round this reviewer reviewed ("ideally to the same reviewers"); then the ones
    this reviewer has not given back (released, or let expire); then those. Each tier follows an
    index (urgent entries, the reviewer's own reviews, or queueentry_handout), so none reads the
    whole queue: one query ordering every waiting entry by per-row preferences would (at 50,000
    cases it took ~65 ms). `urgent=False` or `returning=False` leaves out a tier the caller knows
    holds nothing (urgent_waiting, returning_waiting): each tier costs its query's building and
    planning (1 to 2 ms each), far more than its execution; each is built only when the one
    before it has come up empty."""
    now = now or timezone.now()
    eligible = eligible_entries(reviewer, now)
    given_back = Review.objects.filter(
        entry=OuterRef("pk"),
        reviewer=reviewer,
        status__in=[ReviewStatus.RELEASED, ReviewStatus.EXPIRED],
    )
    if urgent:
        yield eligible.filter(urgent=True)
    if returning:
        # The cases whose earlier round this reviewer reviewed: a few, from their reviews.
        reviewed_rounds = Review.objects.filter(
            case=OuterRef("case"),
            reviewer=reviewer,
            status=ReviewStatus.SUBMITTED,
            entry__round=OuterRef("round") - 1,
        )
        yield eligible.filter(
            urgent=False, round__gt=1, case_id__in=_reviewed_cases(reviewer)
        ).filter(Exists(reviewed_rounds))
    yield eligible.filter(urgent=False).filter(~Exists(given_back))
    yield eligible.filter(urgent=False).filter(Exists(given_back))


# The queue page says how many cases wait up to this many, and "more than" beyond: counting every
# eligible entry of a large queue would read it all.
AVAILABLE_COUNT_CAP = 100


def available_count(reviewer) -> int:
    """How many entries the reviewer could be handed now (for the queue page), counted up to
    AVAILABLE_COUNT_CAP + 1: a number above the cap means "more than the cap"."""
    if not can_review(reviewer):
        return 0
    # Unordered: the database stops at the first AVAILABLE_COUNT_CAP + 1 eligible rows it meets.
    return eligible_entries(reviewer).order_by()[: AVAILABLE_COUNT_CAP + 1].count()


def current_claim(user, now: datetime | None = None) -> Review | None:
    """The user's live claim (one case at a time), or None."""
    if not can_review(user):
        return None
    now = now or timezone.now()
    return (
        Review.objects.filter(
            reviewer=user,
            status=ReviewStatus.CLAIMED,
            claim_expires__gt=now,
            entry__status=EntryStatus.WAITING,
        )
        .order_by("claimed_at", "pk")
        .first()
    )


def row_id(value) -> int | None:
    """A row id, or None for anything that cannot be one (past a BigAutoField too)."""
    if isinstance(value, bool):
        return None
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    return value if 1 <= value <= MAX_ID else None


def own_review(user, review_id) -> Review | None:
    """The user's own review `review_id` (any status), or None: nobody reads another's."""
    review_id = row_id(review_id)
    if not (user and user.is_authenticated) or review_id is None:
        return None
    return (
        Review.objects.filter(pk=review_id, reviewer=user)
        .select_related("entry", "case__site", "case__subject")
        .first()
    )


def entry_for_review(user, review_id) -> QueueEntry | None:
    """The queue entry of the user's own review, or None."""
    review = own_review(user, review_id)
    return review.entry if review is not None else None


def own_flags(review: Review) -> QuerySet[ImageFlag]:
    """The flags of this review only (the caller got it through own_review)."""
    return ImageFlag.objects.filter(review=review).select_related("image").order_by("image", "pk")


def own_outlines(review: Review) -> QuerySet[Outline]:
    return Outline.objects.filter(review=review).select_related("image").order_by("image", "pk")


def own_reviews(user) -> QuerySet[Review]:
    """The user's own reviews, newest first (their history of claims and decisions)."""
    if not (user and user.is_authenticated):
        return Review.objects.none()
    # No related rows: the queue page shows the case's number and the review's own fields, and
    # joining the case's columns in costs more to build than the query costs to run.
    return Review.objects.filter(reviewer=user).order_by("-claimed_at", "-pk")


def waiting_entries() -> QuerySet[QueueEntry]:
    """Entries waiting for reviews, in hand-out order (urgent, then oldest), with their cases."""
    return (
        QueueEntry.objects.filter(status=EntryStatus.WAITING)
        .select_related("case__site")
        .order_by("-urgent", "entered_at", "pk")
    )


def _with_reviews(entries: QuerySet[QueueEntry]) -> QuerySet[QueueEntry]:
    submitted = (
        Review.objects.filter(status=ReviewStatus.SUBMITTED)
        .select_related("reviewer")
        .prefetch_related("flags__image", "outlines__image")
        .order_by("submitted_at", "pk")
    )
    return entries.prefetch_related(Prefetch("reviews", queryset=submitted, to_attr="submitted"))


def reviews_of(user, entry: QueueEntry) -> list[Review]:
    """Every submitted review of the entry, side by side with their flags and outlines: for
    curators only (a reviewer never sees another reviewer's verdict)."""
    if not can_adjudicate(user):
        return []
    return list(
        Review.objects.filter(entry=entry, status=ReviewStatus.SUBMITTED)
        .select_related("reviewer")
        .prefetch_related("flags__image", "outlines__image")
        .order_by("submitted_at", "pk")
    )


def adjudication_entries(user) -> QuerySet[QueueEntry]:
    """Entries whose reviews disagree, oldest first, each with its submitted reviews in
    `entry.submitted`; for curators only."""
    if not can_adjudicate(user):
        return QueueEntry.objects.none()
    entries = (
        QueueEntry.objects.filter(status=EntryStatus.ADJUDICATION)
        .select_related("case__site")
        .order_by("-urgent", "entered_at", "pk")
    )
    return _with_reviews(entries)


def adjudication_entry(user, entry_id) -> QueueEntry | None:
    """One entry for the adjudication page (any status, so a decided one can be read back), with
    its reviews in `entry.submitted`; for curators only."""
    entry_id = row_id(entry_id)
    if not can_adjudicate(user) or entry_id is None:
        return None
    entries = QueueEntry.objects.filter(pk=entry_id).select_related("case__site")
    return _with_reviews(entries).first()


def adjudication_of(entry: QueueEntry) -> Adjudication | None:
    return Adjudication.objects.filter(entry=entry).select_related("curator").first()


def queue_stats(now: datetime | None = None) -> dict:
    """The queue in numbers: entries waiting, claimed now, waiting for adjudication, and when the
    oldest waiting entry entered (None when none waits). Two queries."""
    now = now or timezone.now()
    entries = QueueEntry.objects.filter(status__in=LIVE_ENTRY_STATUSES).aggregate(
        waiting=Count("pk", filter=Q(status=EntryStatus.WAITING)),
        adjudication=Count("pk", filter=Q(status=EntryStatus.ADJUDICATION)),
        oldest=Min("entered_at", filter=Q(status=EntryStatus.WAITING)),
    )
    claimed = Review.objects.filter(
        status=ReviewStatus.CLAIMED, claim_expires__gt=now, entry__status=EntryStatus.WAITING
    ).count()
    return {
        "waiting": entries["waiting"],
        "claimed": claimed,
        "adjudication": entries["adjudication"],
        "oldest_entered_at": entries["oldest"],
    }


def live_entry(case) -> QueueEntry | None:
    """The case's entry still in review (waiting or in adjudication), or None."""
    return (
        QueueEntry.objects.filter(case=case, status__in=LIVE_ENTRY_STATUSES)
        .order_by("-round")
        .first()
    )


def review_detail(user, review: Review) -> dict:
    """What the reviewer works from, for the API and the review screen: their own review (the
    caller got it through own_review), the case with its images in step order, the latest
    automated results, the checklist with its pre-filled answers, and their own flags and
    outlines only (blinded: nothing of another reviewer's)."""
    case = review.case
    images = list(case.images.order_by("display_order", "pk"))
    return {
        "review": review,
        "entry": review.entry,
        "case": case,
        "images": images,
        "checks": check_selectors.case_results(user, case),
        "checklist": eligibility.checklist(case),
        "flags": list(own_flags(review)),
        "outlines": list(own_outlines(review)),
    }
