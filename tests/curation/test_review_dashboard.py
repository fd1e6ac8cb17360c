"""The curator's review dashboard (curation.review_stats, curation.views.review_dashboard): the
dashboard's kappa equals scikit-learn's on the same pairs, its bootstrap interval, the rates, the
queue's age, throughput, the adjudication rate, a number of queries that does not grow with the
number of cases, and who may see the page."""

import random
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from sklearn.metrics import cohen_kappa_score

from curation import review_stats
from curation.models import (
    Adjudication,
    EntryStatus,
    ImageFlag,
    QueueEntry,
    Review,
    ReviewStatus,
)
from tests.factories import add_image, make_case, make_contributor, make_site, make_user_with_role
from tests.roles import Role
from tests.totp import with_totp

pytestmark = pytest.mark.django_db

DASHBOARD = "/curation/reviews/"
RULES = {"decision": "exact", "transformation_zone": "exact", "swede_total": {"within": 1}}


def reviewers(n=3):
    return [make_user_with_role(Role.REVIEWER) for _ in range(n)]


def reviewed_case(
    site,
    contributor,
    team,
    decisions,
    opinions=None,
    *,
    device="Leisegang 3ML",
    with_image=True,
    status=EntryStatus.DECIDED,
    submitted_at=None,
    **case_values,
):
    """A case with one image and one round whose reviews (one per decision) are submitted."""
    case = make_case(site, actor=contributor, **case_values)
    image = add_image(case, contributor, capture_device=device) if with_image else None
    now = submitted_at or timezone.now()
    entry = QueueEntry.objects.create(
        case=case, entered_at=now - timedelta(hours=2), status=status, reviews_done=len(decisions)
    )
    opinions = opinions or [{}] * len(decisions)
    reviews = [
        Review.objects.create(
            entry=entry,
            case=case,
            reviewer=reviewer,
            status=ReviewStatus.SUBMITTED,
            claimed_at=now - timedelta(hours=1),
            claim_expires=now,
            submitted_at=now,
            decision=decision,
            label_opinions=opinion,
        )
        for reviewer, decision, opinion in zip(team, decisions, opinions, strict=False)
    ]
    return case, image, entry, reviews


@pytest.fixture
def random_pairs():
    """40 double-reviewed cases with random decisions, TZ opinions and Swede totals (seeded);
    the pairs each label should give, as (first review's value, second's)."""
    rng = random.Random(7)
    site = make_site()
    contributor = make_contributor(site)
    team = reviewers(2)
    expected = {"decision": [], "transformation_zone": [], "swede_total": []}
    for _ in range(40):
        tz = rng.choice(["type_1", "type_2", "type_3"])
        swede = rng.randint(0, 10)
        decisions = [rng.choice(["accept", "reject", "return"]) for _ in range(2)]
        opinions, tzs, swedes = [], [], []
        for _reviewer in range(2):
            opinion = {}
            if rng.random() < 0.4:
                opinion["transformation_zone"] = rng.choice(["type_1", "type_2", "type_3"])
            if rng.random() < 0.5:
                opinion["swede_total"] = max(0, min(10, swede + rng.randint(-2, 2)))
            opinions.append(opinion)
            tzs.append(opinion.get("transformation_zone", tz))
            swedes.append(opinion.get("swede_total", swede))
        reviewed_case(
            site,
            contributor,
            team,
            decisions,
            opinions,
            with_image=False,
            transformation_zone=tz,
            swede_total=swede,
        )
        expected["decision"].append(tuple(decisions))
        expected["transformation_zone"].append(tuple(tzs))
        expected["swede_total"].append(tuple(swedes))
    return expected


def by_label(result):
    return {row.label: row for row in result}


# --- kappa -------------------------------------------------------------------------------------


def test_the_dashboards_kappa_equals_scikit_learns_on_the_same_pairs(random_pairs):
    result = by_label(review_stats.agreement(RULES))
    for label in ("decision", "transformation_zone"):
        firsts, seconds = zip(*random_pairs[label], strict=True)
        assert result[label].pairs == 40
        assert result[label].kappa == pytest.approx(cohen_kappa_score(firsts, seconds), abs=1e-12)
        agreeing = sum(a == b for a, b in random_pairs[label]) / 40
        assert result[label].agreeing == pytest.approx(agreeing)
    firsts, seconds = zip(*random_pairs["swede_total"], strict=True)
    swede = result["swede_total"]
    assert swede.weights == "linear"
    assert swede.kappa == pytest.approx(
        cohen_kappa_score(firsts, seconds, weights="linear"), abs=1e-12
    )
    assert swede.agreeing == pytest.approx(
        sum(abs(a - b) <= 1 for a, b in random_pairs["swede_total"]) / 40
    )


def test_every_two_reviews_of_a_round_make_a_pair_the_earlier_first():
    site = make_site()
    contributor = make_contributor(site)
    team = reviewers(3)
    reviewed_case(site, contributor, team, ["accept", "reject", "accept"])
    reviewed_case(site, contributor, team, ["reject", "reject", "accept"])
    reviewed_case(site, contributor, team[:2], ["accept", "accept"])
    pairs = [
        ("accept", "reject"),
        ("accept", "accept"),
        ("reject", "accept"),
        ("reject", "reject"),
        ("reject", "accept"),
        ("reject", "accept"),
        ("accept", "accept"),
    ]
    decision = by_label(review_stats.agreement(RULES))["decision"]
    assert decision.pairs == 7
    firsts, seconds = zip(*pairs, strict=True)
    assert decision.kappa == pytest.approx(cohen_kappa_score(firsts, seconds))


def test_only_submitted_reviews_pair_and_missing_values_are_left_out():
    site = make_site()
    contributor = make_contributor(site)
    team = reviewers(3)
    _case, _image, entry, _reviews = reviewed_case(
        site, contributor, team[:2], ["accept", "accept"], transformation_zone="type_1"
    )
    now = timezone.now()
    Review.objects.create(  # a claim in progress: not a review yet
        entry=entry,
        case=entry.case,
        reviewer=team[2],
        status=ReviewStatus.CLAIMED,
        claimed_at=now,
        claim_expires=now + timedelta(minutes=30),
    )
    # The contributor gave no TZ and neither reviewer did: no value, no pair for that label.
    reviewed_case(site, contributor, team[:2], ["reject", "accept"], transformation_zone="")
    # One reviewer gave the TZ: still one value missing.
    reviewed_case(
        site,
        contributor,
        team[:2],
        ["reject", "reject"],
        [{"transformation_zone": "type_2"}, {}],
        transformation_zone="",
    )
    result = by_label(review_stats.agreement(RULES))
    assert result["decision"].pairs == 3
    assert result["transformation_zone"].pairs == 1
    assert result["transformation_zone"].kappa is None  # one category: kappa is undefined
    assert result["transformation_zone"].agreeing == 1.0


def test_no_pairs_no_kappa():
    result = review_stats.agreement(RULES)
    assert [row.label for row in result] == ["decision", "transformation_zone", "swede_total"]
    assert all(row.pairs == 0 and row.kappa is None and row.low is None for row in result)


def test_the_default_rules_are_all_measured(settings):
    labels = [row.label for row in review_stats.agreement()]
    assert labels[0] == "decision"
    assert set(labels) == set(settings.REVIEW_AGREEMENT)


# --- the interval ------------------------------------------------------------------------------


def test_the_interval_is_a_seeded_percentile_bootstrap_over_pairs(random_pairs):
    result = by_label(review_stats.agreement(RULES))["decision"]
    assert result.low <= result.kappa <= result.high
    assert result.resamples == review_stats.RESAMPLES
    # The same pairs give the same interval (seeded), computed again without the cache.
    table = review_stats._clean_table(review_stats.pair_table("decision"), numeric=False)
    assert review_stats.bootstrap_interval(table) == (result.low, result.high, result.resamples)
    # An explicit bootstrap (resampling the pair list by index) agrees within sampling noise.
    pairs = random_pairs["decision"]
    rng = np.random.default_rng(1)
    kappas = []
    for _ in range(1000):
        sample = [pairs[i] for i in rng.integers(0, len(pairs), len(pairs))]
        firsts, seconds = zip(*sample, strict=True)
        kappa = cohen_kappa_score(firsts, seconds)
        if np.isfinite(kappa):
            kappas.append(kappa)
    low, high = np.percentile(kappas, [2.5, 97.5])
    assert result.low == pytest.approx(low, abs=0.06)
    assert result.high == pytest.approx(high, abs=0.06)


def test_perfect_agreement_has_a_degenerate_interval():
    site = make_site()
    contributor = make_contributor(site)
    team = reviewers(2)
    for decision in ["accept"] * 5 + ["reject"] * 5:
        reviewed_case(site, contributor, team, [decision, decision])
    decision = by_label(review_stats.agreement(RULES))["decision"]
    assert decision.kappa == 1.0
    assert (decision.low, decision.high) == (1.0, 1.0)


def test_the_interval_is_cached_under_its_table(monkeypatch, random_pairs):
    review_stats.agreement(RULES)
    calls = []
    monkeypatch.setattr(
        review_stats, "bootstrap_interval", lambda *a, **k: calls.append(1) or (0, 0, 0)
    )
    review_stats.agreement(RULES)
    assert calls == []  # same tables: every interval comes from the cache


# --- rates, queue, throughput ------------------------------------------------------------------


def test_decision_and_flag_reason_rates_per_site_and_device():
    north, south = make_site(name="North"), make_site(name="South")
    north_contributor, south_contributor = make_contributor(north), make_contributor(south)
    team = reviewers(2)
    _c, image, _e, reviews = reviewed_case(
        north, north_contributor, team, ["accept", "reject"], device="Alpha"
    )
    ImageFlag.objects.create(review=reviews[0], image=image, reason="glare")
    ImageFlag.objects.create(review=reviews[1], image=image, reason="glare")
    ImageFlag.objects.create(review=reviews[1], image=image, reason="blood")
    reviewed_case(north, north_contributor, team, ["accept", "accept"], device="Beta")
    _c, image, _e, reviews = reviewed_case(
        south, south_contributor, team, ["return", "accept"], device="Alpha"
    )
    ImageFlag.objects.create(review=reviews[0], image=image, reason="out_of_focus")

    decisions = review_stats.decision_rates()
    by_site = {rate.label: rate for rate in decisions["site"]}
    assert by_site["North"].total == 4
    assert by_site["North"].counts == {"accept": 3, "reject": 1, "return": 0}
    assert by_site["South"].counts == {"accept": 1, "reject": 0, "return": 1}
    assert by_site["North"].share("accept") == 0.75
    by_device = {rate.label: rate for rate in decisions["device"]}
    assert by_device["Alpha"].counts == {"accept": 2, "reject": 1, "return": 1}
    assert by_device["Beta"].counts == {"accept": 2, "reject": 0, "return": 0}

    flags = review_stats.flag_reason_rates()
    by_site = {rate.label: rate for rate in flags["site"]}
    assert by_site["North"].total == 4  # 2 images x 2 reviews
    assert by_site["North"].counts["glare"] == 2 and by_site["North"].counts["blood"] == 1
    assert by_site["North"].share("glare") == 0.5
    assert by_site["South"].total == 2 and by_site["South"].counts["out_of_focus"] == 1
    by_device = {rate.label: rate for rate in flags["device"]}
    assert by_device["Alpha"].total == 4 and by_device["Alpha"].counts["glare"] == 2
    assert by_device["Beta"].total == 2 and sum(by_device["Beta"].counts.values()) == 0


def test_queue_age_and_median_wait():
    site = make_site()
    contributor = make_contributor(site)
    now = timezone.now()
    for hours in (1, 2, 3, 10):
        QueueEntry.objects.create(
            case=make_case(site, actor=contributor), entered_at=now - timedelta(hours=hours)
        )
    QueueEntry.objects.create(
        case=make_case(site, actor=contributor),
        entered_at=now - timedelta(hours=50),
        status=EntryStatus.DECIDED,
    )
    QueueEntry.objects.create(
        case=make_case(site, actor=contributor),
        entered_at=now - timedelta(hours=5),
        status=EntryStatus.ADJUDICATION,
    )
    age = review_stats.queue_age(now)
    assert age.waiting == 4 and age.adjudication == 1
    assert age.oldest_wait == timedelta(hours=10)
    assert age.median_wait == timedelta(hours=2.5)
    QueueEntry.objects.filter(entered_at__lt=now - timedelta(hours=9)).update(urgent=True)
    age = review_stats.queue_age(now)
    assert age.urgent == 2 - 1  # the decided entry is not waiting
    assert review_stats.queue_age(now).median_wait == timedelta(hours=2.5)


def test_throughput_per_reviewer_per_week_and_the_adjudication_rate():
    site = make_site()
    contributor = make_contributor(site)
    first, second = reviewers(2)
    now = timezone.now()
    reviewed_case(site, contributor, [first, second], ["accept", "accept"], submitted_at=now)
    reviewed_case(
        site,
        contributor,
        [first, second],
        ["accept", "reject"],
        submitted_at=now - timedelta(weeks=1),
        status=EntryStatus.ADJUDICATION,
    )
    _c, _i, entry, _r = reviewed_case(
        site,
        contributor,
        [first],
        ["reject"],
        submitted_at=now - timedelta(weeks=20),  # before the period
    )
    Adjudication.objects.create(
        entry=entry, curator=make_user_with_role(Role.CURATOR), decision="reject"
    )
    result = review_stats.throughput(weeks=8, now=now)
    assert len(result.weeks) == 8 and result.weeks[-1] == review_stats.week_start(now)
    counts = {row.reviewer_id: row.counts for row in result.reviewers}
    assert counts[first.pk][-1] == 1 and counts[first.pk][-2] == 1 and sum(counts[first.pk]) == 2
    assert counts[second.pk][-1] == 1 and counts[second.pk][-2] == 1
    assert result.totals[-1] == 2

    rate = review_stats.adjudication_rate()
    assert (rate.finished, rate.adjudicated, rate.decided) == (3, 2, 1)
    assert rate.rate == pytest.approx(2 / 3)


# --- queries do not grow ------------------------------------------------------------------------


def _queries(fn):
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_cases():
    site = make_site()
    contributor = make_contributor(site)
    team = reviewers(2)
    reviewed_case(site, contributor, team, ["accept", "reject"])
    few = _queries(lambda: review_stats.review_stats(use_cache=False))
    for index in range(12):
        reviewed_case(site, contributor, team, ["accept", "accept"], device=f"Device {index % 4}")
    assert _queries(lambda: review_stats.review_stats(use_cache=False)) == few


def test_the_stats_are_cached_and_counted_at_most_once_a_minute():
    site = make_site()
    contributor = make_contributor(site)
    team = reviewers(2)
    reviewed_case(site, contributor, team, ["accept", "reject"])
    now = timezone.now()
    first = review_stats.review_stats(now)
    cached = _queries(lambda: review_stats.review_stats(now))
    assert cached < _queries(lambda: review_stats.review_stats(now, use_cache=False))
    reviewed_case(site, contributor, team, ["accept", "accept"])  # writes case events
    soon = now + timedelta(seconds=review_stats.RECOUNT_SECONDS - 5)
    assert review_stats.review_stats(soon).agreement[0].pairs == first.agreement[0].pairs
    later = now + timedelta(seconds=review_stats.RECOUNT_SECONDS + 1)
    assert review_stats.review_stats(later).agreement[0].pairs == first.agreement[0].pairs + 1
    # Nothing changed since: the figures stand however old they are.
    much_later = later + timedelta(seconds=10 * review_stats.RECOUNT_SECONDS)
    assert _queries(lambda: review_stats.review_stats(much_later)) == cached


# --- the page ----------------------------------------------------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def curator():
    user = make_user_with_role(Role.CURATOR)
    with_totp(user)
    return user


def test_the_url():
    assert reverse("curation:review-dashboard") == DASHBOARD


def test_only_curators_see_the_dashboard(client):
    for user in (make_contributor(make_site()), make_user_with_role(Role.REVIEWER)):
        assert signed_in(user).get(DASHBOARD).status_code == 403
    response = client.get(DASHBOARD)
    assert response.status_code == 302


def test_the_page_shows_the_figures_and_draws_its_charts(random_pairs):
    response = signed_in(curator()).get(DASHBOARD)
    assert response.status_code == 200
    page = response.content.decode()
    decision = by_label(review_stats.agreement(RULES))["decision"]
    assert 'data-agreement="decision"' in page
    assert f"{decision.kappa:.2f}" in page
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "<svg" in main and "<script" not in main
    assert 'data-queue-waiting="0"' in page


def test_a_few_new_pairs_keep_the_latest_interval_many_recompute_it():
    site = make_site()
    contributor = make_contributor(site)
    team = reviewers(2)
    rng = random.Random(3)
    for _ in range(20):
        reviewed_case(
            site,
            contributor,
            team,
            [rng.choice(["accept", "reject"]) for _ in range(2)],
            with_image=False,
        )
    first = by_label(review_stats.agreement(RULES))["decision"]
    assert first.interval_pairs == first.pairs == 20
    reviewed_case(site, contributor, team, ["accept", "reject"], with_image=False)
    second = by_label(review_stats.agreement(RULES))["decision"]
    assert second.pairs == 21 and second.interval_pairs == 20  # within REFRESH_PAIRS
    assert (second.low, second.high) == (first.low, first.high)
    for _ in range(review_stats.REFRESH_PAIRS):
        reviewed_case(site, contributor, team, ["reject", "reject"], with_image=False)
    third = by_label(review_stats.agreement(RULES))["decision"]
    assert third.interval_pairs == third.pairs == 31
