"""The hand-out under load: 20 reviewers, each in a thread with its own database connection,
claim and decide at once until the queue of 60 cases is empty.

Watched while it runs: no case is held by two reviewers at once (a shared register of who holds
what, entered once a claim is committed and left just before the decision, so an overlap it sees
is a real one: the earlier holder's claim was still live in the database). Checked afterwards: no
case reviewed twice by one person or by a member of its own site, and every case ends with
exactly the required number of submitted reviews, accepted.

On PostgreSQL (the issue's test; DATABASE_URL, `-m services`) the hand-out locks entry rows with
SKIP LOCKED. The SQLite variant runs the same threads on the test database, which is in memory
with a shared cache: there a transaction that finds the database locked fails at once instead of
waiting for `timeout` seconds as the file database does, so the workers wait and try again
themselves (the bank's own SQLite setting makes the database do that).
"""

import random
import threading
import time
from collections import defaultdict

import pytest
from django.db import OperationalError, close_old_connections, connection, connections

from curation.models import EntryStatus, QueueEntry, Review, ReviewStatus
from curation.services import reviews
from imagebank.lifecycle import CaseState
from imagebank.models import Case, SiteMembership
from tests.conftest import require_service
from tests.curation.test_review_queue import accept_answers, in_review_case, reviewer
from tests.factories import make_contributor, make_site

REVIEWERS = 20
CASES = 60
SITES = 5
DEADLINE_SECONDS = 240


class Register:
    """Who holds which case, as the workers see their claims."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders: dict[int, int] = {}
        self.overlaps: list[tuple[int, int, int]] = []
        self.errors: list[str] = []
        self.claims: dict[int, list[int]] = defaultdict(list)  # reviewer -> cases claimed

    def hold(self, case_id: int, reviewer_id: int) -> None:
        with self.lock:
            other = self.holders.get(case_id)
            if other is not None and other != reviewer_id:
                self.overlaps.append((case_id, other, reviewer_id))
            self.holders[case_id] = reviewer_id
            self.claims[reviewer_id].append(case_id)

    def leave(self, case_id: int, reviewer_id: int) -> None:
        with self.lock:
            if self.holders.get(case_id) == reviewer_id:
                del self.holders[case_id]


def _retrying(call, *, sqlite: bool, done=None):
    """On the in-memory SQLite test database, wait and try again when it is locked (what the
    bank's SQLite `timeout` does on a file database); elsewhere, call once. `done()` says whether
    the call's transaction committed after all (the lock met by an on-commit callback, the
    notice's mail, after the commit)."""
    for attempt in range(400):
        try:
            return call()
        except OperationalError as error:
            if not sqlite or "locked" not in str(error):
                raise
            if done is not None and _retrying(done, sqlite=sqlite):
                return None
            time.sleep(0.005 + random.random() * 0.02 * min(attempt + 1, 5))  # noqa: S311
    raise AssertionError("the SQLite test database stayed locked")


def _worker(user, answers, register: Register, stop_at: float, sqlite: bool) -> None:
    rng = random.Random(user.pk)  # noqa: S311
    try:
        while time.monotonic() < stop_at:
            review = _retrying(lambda: reviews.claim_next(user), sqlite=sqlite)
            if review is None:
                waiting = _retrying(
                    lambda: QueueEntry.objects.filter(status=EntryStatus.WAITING).exists(),
                    sqlite=sqlite,
                )
                if not waiting:
                    return
                time.sleep(0.01)  # others hold what is left for now
                continue
            register.hold(review.case_id, user.pk)
            time.sleep(rng.random() * 0.01)  # looking at the case
            register.leave(review.case_id, user.pk)
            _retrying(
                lambda review=review: reviews.decide(
                    review, decision="accept", eligibility=answers
                ),
                sqlite=sqlite,
                done=lambda review=review: Review.objects.filter(
                    pk=review.pk, status=ReviewStatus.SUBMITTED
                ).exists(),
            )
        register.errors.append(f"reviewer {user.pk} ran out of time")
    except Exception as error:  # reported by the test, with the worker that met it
        register.errors.append(f"reviewer {user.pk}: {type(error).__name__}: {error}")
    finally:
        connections.close_all()


def _run(sqlite: bool) -> None:
    sites = [make_site() for _ in range(SITES)]
    contributors = [make_contributor(site) for site in sites]
    for number in range(CASES):
        in_review_case(site=sites[number % SITES], contributor=contributors[number % SITES])
    # A quarter of the reviewers also contribute at a clinic, whose cases they must never get.
    users = [
        reviewer(sites[index % SITES]) if index % 4 == 0 else reviewer()
        for index in range(REVIEWERS)
    ]
    answers = accept_answers()
    required = QueueEntry.objects.first().reviews_required
    assert QueueEntry.objects.filter(status=EntryStatus.WAITING).count() == CASES

    register = Register()
    start = threading.Barrier(REVIEWERS)
    stop_at = time.monotonic() + DEADLINE_SECONDS

    def run(user):
        close_old_connections()
        start.wait()
        _worker(user, answers, register, stop_at, sqlite)

    threads = [threading.Thread(target=run, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_SECONDS + 30)
    assert not any(thread.is_alive() for thread in threads)

    assert register.errors == []
    assert register.overlaps == []
    submitted = Review.objects.filter(status=ReviewStatus.SUBMITTED)
    by_case: dict[int, list[int]] = defaultdict(list)
    for case_id, reviewer_id in submitted.values_list("case_id", "reviewer_id"):
        by_case[case_id].append(reviewer_id)
    assert len(by_case) == CASES
    members = set(SiteMembership.objects.values_list("user_id", "site_id"))
    sites_of = dict(Case.objects.values_list("pk", "site_id"))
    for case_id, reviewer_ids in by_case.items():
        assert len(reviewer_ids) == required, case_id
        assert len(set(reviewer_ids)) == required, f"case {case_id} reviewed twice by one person"
        for reviewer_id in reviewer_ids:
            assert (reviewer_id, sites_of[case_id]) not in members, "reviewed by its own site"
    for reviewer_id, claimed in register.claims.items():
        assert len(claimed) == len(set(claimed)), f"reviewer {reviewer_id} got a case twice"
    assert not Review.objects.filter(status=ReviewStatus.CLAIMED).exists()
    assert set(QueueEntry.objects.values_list("status", "reviews_done")) == {
        (EntryStatus.DECIDED, required)
    }
    assert set(Case.objects.values_list("state", flat=True)) == {CaseState.ACCEPTED}
    # The work was shared: more than a few reviewers took part.
    assert len(register.claims) > REVIEWERS // 2


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_twenty_reviewers_at_once_on_postgresql():
    require_service(
        connection.vendor == "postgresql", "the concurrent hand-out test needs PostgreSQL"
    )
    _run(sqlite=False)


@pytest.mark.django_db(transaction=True)
def test_twenty_reviewers_at_once_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant (the PostgreSQL one runs on this database)")
    _run(sqlite=True)
