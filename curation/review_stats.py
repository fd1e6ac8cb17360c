"""The curator's review dashboard, as pure reads: the queue's size and age, throughput per reviewer
per week, decision and flag-reason rates per site and capture device, the adjudication rate, and
the inter-reviewer agreement per label (Cohen's kappa, computed by scikit-learn, with a bootstrap
95% interval and the number of pairs).

Every figure is counted by the database: the number of queries is fixed (it does not grow with the
number of cases, reviews or flags), and what comes back is one row per group (site, device,
reviewer and week, pair of values), never one per case.

Agreement (docs/review.md, "The curator's dashboard"):

- A pair is two submitted reviews of the same queue entry (one case, one round); with more than two
  reviews per round every two of them make a pair, the earlier-claimed review (lower id) first.
- A label's value in a review is the reviewer's opinion where they gave one, else the
  contributor's value (the rule of curation.consensus). A pair where either value is missing is
  left out: `pairs` counts the pairs used.
- The database returns the contingency table (how many pairs had values a and b); scikit-learn's
  cohen_kappa_score gets the table's cells with their counts as sample weights, which is the same
  as giving it every pair. An "exact" label gets the unweighted kappa; a {"within": n} label (an
  ordinal number, the Swede total) the linearly weighted kappa over its numeric values.
- The 95% interval is a percentile bootstrap over pairs: RESAMPLES resamples of the pairs with
  replacement (drawn as a multinomial over the table's cells, which is the same distribution),
  seeded with SEED so that the same table always gives the same interval; scikit-learn computes
  each resample's kappa; resamples where kappa is undefined (every pair in one category) are left
  out. Bootstrapping costs about RESAMPLES calls of scikit-learn per label (seconds), so an
  interval is cached under its table (a table that did not change is never recomputed), and a
  label's latest interval stands while its number of pairs stays within REFRESH_SHARE (at least
  REFRESH_PAIRS pairs) of the pairs it was computed on; `interval_pairs` says which. Kappa itself
  is always computed on the current pairs.
- `agreement` also gives the share of pairs that agree under the label's rule (REVIEW_AGREEMENT).
"""

import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, F, Max, Min, Q, TextField, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncWeek
from django.utils import timezone

from curation import consensus
from curation.models import (
    Adjudication,
    Decision,
    EntryStatus,
    FlagReason,
    ImageFlag,
    QueueEntry,
    Review,
    ReviewStatus,
)
from imagebank.models import CaseEvent, Image

RESAMPLES = 1000
SEED = 20261201
WEEKS = 8
INTERVAL_CACHE_SECONDS = 30 * 24 * 3600
STATS_CACHE_SECONDS = 24 * 3600
# A label's interval is computed again once its pairs changed by this share (or this many).
REFRESH_SHARE = 0.05
REFRESH_PAIRS = 10

SUBMITTED = Q(status=ReviewStatus.SUBMITTED)


# --- the queue ----------------------------------------------------------------------------------


@dataclass
class QueueAge:
    waiting: int
    urgent: int
    adjudication: int
    oldest_entered: datetime | None
    oldest_wait: timedelta | None
    median_wait: timedelta | None


def queue_age(now: datetime | None = None) -> QueueAge:
    """Entries waiting for reviews: how many (urgent among them), the oldest and the median wait;
    and how many wait for adjudication. Three queries whatever the queue's length (the median is
    read at its offset in the entered_at order)."""
    now = now or timezone.now()
    counts = QueueEntry.objects.aggregate(
        waiting=Count("pk", filter=Q(status=EntryStatus.WAITING)),
        urgent=Count("pk", filter=Q(status=EntryStatus.WAITING, urgent=True)),
        adjudication=Count("pk", filter=Q(status=EntryStatus.ADJUDICATION)),
        oldest=Min("entered_at", filter=Q(status=EntryStatus.WAITING)),
    )
    waiting = counts["waiting"]
    median = None
    if waiting:
        middle = list(
            QueueEntry.objects.filter(status=EntryStatus.WAITING)
            .order_by("entered_at", "pk")
            .values_list("entered_at", flat=True)[(waiting - 1) // 2 : waiting // 2 + 1]
        )
        waits = [now - entered for entered in middle]
        median = sum(waits, timedelta()) / len(waits)
    oldest = counts["oldest"]
    return QueueAge(
        waiting=waiting,
        urgent=counts["urgent"],
        adjudication=counts["adjudication"],
        oldest_entered=oldest,
        oldest_wait=(now - oldest) if oldest else None,
        median_wait=median,
    )


# --- throughput ---------------------------------------------------------------------------------


@dataclass
class ReviewerWeeks:
    reviewer_id: int
    name: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class Throughput:
    weeks: list[datetime]  # each week's Monday 00:00 UTC, oldest first
    reviewers: list[ReviewerWeeks]
    totals: list[int]

    @property
    def most(self) -> int:
        return max([*self.totals, 0])


def week_start(moment: datetime) -> datetime:
    moment = moment.astimezone(timezone.get_current_timezone())
    day = moment - timedelta(days=moment.weekday())
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def throughput(weeks: int = WEEKS, now: datetime | None = None) -> Throughput:
    """Submitted reviews per reviewer per week over the last `weeks` weeks (this one included):
    one grouped query."""
    first = week_start(now or timezone.now()) - timedelta(weeks=weeks - 1)
    starts = [first + timedelta(weeks=index) for index in range(weeks)]
    index_of = {start: index for index, start in enumerate(starts)}
    rows = (
        Review.objects.filter(SUBMITTED, submitted_at__gte=first)
        .annotate(week=TruncWeek("submitted_at"))
        .order_by()
        .values("reviewer_id", "reviewer__full_name", "reviewer__email", "week")
        .annotate(n=Count("pk"))
    )
    by_reviewer: dict[int, ReviewerWeeks] = {}
    for row in rows:
        index = index_of.get(week_start(row["week"]))
        if index is None:
            continue
        reviewer = by_reviewer.setdefault(
            row["reviewer_id"],
            ReviewerWeeks(
                row["reviewer_id"],
                row["reviewer__full_name"] or row["reviewer__email"],
                [0] * weeks,
            ),
        )
        reviewer.counts[index] += row["n"]
    reviewers = sorted(by_reviewer.values(), key=lambda r: (-r.total, r.name))
    totals = [sum(r.counts[index] for r in reviewers) for index in range(weeks)]
    return Throughput(weeks=starts, reviewers=reviewers, totals=totals)


# --- decision and flag-reason rates ---------------------------------------------------------------


@dataclass
class Rate:
    key: str
    label: str
    total: int  # decisions: submitted reviews; flags: reviewed images (image x review)
    counts: dict[str, int]

    def share(self, code: str) -> float:
        return self.counts.get(code, 0) / self.total if self.total else 0.0

    @property
    def shares(self) -> list[tuple[str, int, float]]:
        return [(code, n, n / self.total if self.total else 0.0) for code, n in self.counts.items()]


def _rates(totals: dict, labels: dict, counted: list[tuple[Any, str, int]], codes) -> list[Rate]:
    rates = {
        key: Rate(str(key), labels.get(key, ""), total, {code: 0 for code in codes})
        for key, total in totals.items()
    }
    for key, code, n in counted:
        if key in rates and code in rates[key].counts:
            rates[key].counts[code] += n
    return sorted(rates.values(), key=lambda rate: (-rate.total, rate.label))


def _decisions_by_device() -> list[dict]:
    """Submitted reviews per (capture device, decision), a review once under each device of its
    case: the reviews joined to each case's distinct devices (a derived table, which the
    database groups far faster than COUNT(DISTINCT) over every review and image)."""
    from django.db import connection

    review_table = Review._meta.db_table
    image_table = Image._meta.db_table
    # Only the models' own table names are formatted in; the status is a parameter.
    sql = (
        f"SELECT d.capture_device, r.decision, COUNT(*) FROM {review_table} r "  # noqa: S608
        f"INNER JOIN (SELECT DISTINCT case_id, capture_device FROM {image_table}) d "
        "ON d.case_id = r.case_id WHERE r.status = %s GROUP BY d.capture_device, r.decision"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ReviewStatus.SUBMITTED.value])
        rows = cursor.fetchall()
    return [
        {"case__images__capture_device": device, "decision": decision, "n": n}
        for device, decision, n in rows
    ]


def decision_rates() -> dict[str, list[Rate]]:
    """Submitted reviews' decisions per site and per capture device (a review counts under each
    device its case's images were taken with). Two grouped queries."""
    codes = Decision.values
    reviews = Review.objects.filter(SUBMITTED).order_by()
    by_site = list(
        reviews.values("case__site_id", "case__site__name", "decision").annotate(n=Count("pk"))
    )
    site_totals: dict = {}
    site_labels: dict = {}
    for row in by_site:
        site_totals[row["case__site_id"]] = site_totals.get(row["case__site_id"], 0) + row["n"]
        site_labels[row["case__site_id"]] = row["case__site__name"]
    by_device = _decisions_by_device()
    device_totals: dict = {}
    for row in by_device:
        device = row["case__images__capture_device"] or ""
        device_totals[device] = device_totals.get(device, 0) + row["n"]
    return {
        "site": _rates(
            site_totals,
            site_labels,
            [(row["case__site_id"], row["decision"], row["n"]) for row in by_site],
            codes,
        ),
        "device": _rates(
            device_totals,
            {device: device for device in device_totals},
            [
                (row["case__images__capture_device"] or "", row["decision"], row["n"])
                for row in by_device
            ],
            codes,
        ),
    }


def flag_reason_rates() -> dict[str, list[Rate]]:
    """Per site and per capture device: the reviewed images (one per image and submitted review)
    and how many of them a reviewer flagged with each reason. Four grouped queries."""
    codes = FlagReason.values
    flags = ImageFlag.objects.filter(review__status=ReviewStatus.SUBMITTED).order_by()
    site_images = {
        row["case__site_id"]: row
        for row in Review.objects.filter(SUBMITTED)
        .order_by()
        .values("case__site_id", "case__site__name")
        .annotate(images=Count("case__images"))
    }
    site_flags = flags.values("review__case__site_id", "reason").annotate(n=Count("pk"))
    device_images = dict(
        Image.objects.filter(case__reviews__status=ReviewStatus.SUBMITTED)
        .order_by()
        .values_list("capture_device")
        .annotate(n=Count("case__reviews"))
    )
    device_flags = flags.values("image__capture_device", "reason").annotate(n=Count("pk"))
    return {
        "site": _rates(
            {key: row["images"] for key, row in site_images.items() if row["images"]},
            {key: row["case__site__name"] for key, row in site_images.items()},
            [(row["review__case__site_id"], row["reason"], row["n"]) for row in site_flags],
            codes,
        ),
        "device": _rates(
            {device or "": n for device, n in device_images.items() if n},
            {device or "": device or "" for device in device_images},
            [(row["image__capture_device"] or "", row["reason"], row["n"]) for row in device_flags],
            codes,
        ),
    }


# --- adjudication -------------------------------------------------------------------------------


@dataclass
class AdjudicationRate:
    finished: int  # rounds whose required reviews are all in
    adjudicated: int  # of them, sent to a curator (waiting or decided)
    decided: int  # of those, decided by the curator

    @property
    def rate(self) -> float:
        return self.adjudicated / self.finished if self.finished else 0.0


def adjudication_rate() -> AdjudicationRate:
    """Of the rounds whose reviews are all in (decided, or waiting for a curator), the share that
    went to adjudication. Two queries."""
    counts = QueueEntry.objects.aggregate(
        finished=Count("pk", filter=Q(status__in=[EntryStatus.DECIDED, EntryStatus.ADJUDICATION])),
        waiting=Count("pk", filter=Q(status=EntryStatus.ADJUDICATION)),
    )
    decided = Adjudication.objects.count()
    return AdjudicationRate(
        finished=counts["finished"], adjudicated=counts["waiting"] + decided, decided=decided
    )


# --- agreement ----------------------------------------------------------------------------------


@dataclass
class Agreement:
    label: str
    rule: Any
    pairs: int
    kappa: float | None  # None: undefined (every pair in one category) or no pairs
    low: float | None
    high: float | None
    agreeing: float | None  # share of pairs that agree under the label's rule
    weights: str  # "" (unweighted) or "linear"
    resamples: int  # bootstrap resamples where kappa was defined
    interval_pairs: int = 0  # the pairs the interval was computed on (see _cached_interval)
    table: list[tuple[Any, Any, int]] = field(default_factory=list)


def _value(prefix: str, label: str):
    """A label's value in one review, as SQL: the opinion where the review has the key, else the
    case's (contributor's) value; as text, so that both sides compare alike."""
    if label == "decision":
        return F(f"{prefix}decision")
    opinion = Cast(KeyTextTransform(label, f"{prefix}label_opinions"), TextField())
    return Case(
        When(**{f"{prefix}label_opinions__has_key": label}, then=opinion),
        default=Cast(f"case__{label}", TextField()),
        output_field=TextField(),
    )


def pair_table(label: str) -> list[tuple[Any, Any, int]]:
    """The contingency table of one label over every pair of submitted reviews of one entry:
    [(first review's value, second's, number of pairs)], missing values included (None or "").
    One grouped query over a self-join of the reviews on their entry."""
    rows = (
        Review.objects.filter(
            SUBMITTED,
            entry__reviews__status=ReviewStatus.SUBMITTED,
            entry__reviews__pk__gt=F("pk"),
        )
        .order_by()
        .values(first=_value("", label), second=_value("entry__reviews__", label))
        .annotate(n=Count("*"))
    )
    return [(row["first"], row["second"], row["n"]) for row in rows]


def _number(value: Any) -> float | int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def _clean_table(table, numeric: bool) -> list[tuple[Any, Any, int]]:
    """The pairs with both values given, numbers as numbers for an ordinal label."""
    cleaned: dict[tuple, int] = {}
    for first, second, n in table:
        if first in (None, "") or second in (None, ""):
            continue
        if numeric:
            first, second = _number(first), _number(second)
            if first is None or second is None:
                continue
        else:
            first, second = str(first), str(second)
        cleaned[(first, second)] = cleaned.get((first, second), 0) + n
    return sorted(((a, b, n) for (a, b), n in cleaned.items()), key=lambda row: (row[0], row[1]))


def kappa_of_table(table, *, weights: str | None = None) -> float | None:
    """scikit-learn's Cohen's kappa of a contingency table [(a, b, count)], the counts given as
    sample weights (the same as every pair given one by one); None where it is undefined."""
    from sklearn.metrics import cohen_kappa_score

    rows = [(a, b, n) for a, b, n in table if n]
    if not rows:
        return None
    labels = sorted({a for a, _b, _n in rows} | {b for _a, b, _n in rows})
    if len(labels) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kappa = cohen_kappa_score(
            [a for a, _b, _n in rows],
            [b for _a, b, _n in rows],
            labels=labels,
            weights=weights,
            sample_weight=[n for _a, _b, n in rows],
        )
    return float(kappa) if math.isfinite(kappa) else None


def bootstrap_interval(
    table, *, weights: str | None = None, resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[float | None, float | None, int]:
    """The percentile bootstrap 95% interval of kappa over the table's pairs: `resamples`
    resamples of the pairs with replacement, as multinomial draws over the cells (the same
    distribution), seeded; each resample's kappa by scikit-learn. (low, high, resamples where
    kappa was defined)."""
    from sklearn.metrics import cohen_kappa_score

    rows = [(a, b, n) for a, b, n in table if n]
    total = sum(n for _a, _b, n in rows)
    if total < 2:
        return None, None, 0
    labels = sorted({a for a, _b, _n in rows} | {b for _a, b, _n in rows})
    if len(labels) < 2:
        return None, None, 0
    firsts = [a for a, _b, _n in rows]
    seconds = [b for _a, b, _n in rows]
    counts = np.array([n for _a, _b, n in rows], dtype=float)
    draws = np.random.default_rng(seed).multinomial(total, counts / counts.sum(), size=resamples)
    kappas = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for draw in draws:
            kappa = cohen_kappa_score(
                firsts, seconds, labels=labels, weights=weights, sample_weight=draw
            )
            if math.isfinite(kappa):
                kappas.append(kappa)
    if not kappas:
        return None, None, 0
    low, high = np.percentile(kappas, [2.5, 97.5])
    return float(low), float(high), len(kappas)


def _interval_key(label: str, weights: str | None, table=None) -> str:
    parts = [label, weights, RESAMPLES, SEED] + ([table] if table is not None else [])
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
    return f"curation:kappa-interval:{'table' if table is not None else 'latest'}:{digest}"


def _cached_interval(label: str, table, weights: str | None) -> tuple:
    """(low, high, resamples, pairs the interval was computed on). The interval of this very
    table if it was computed before; else the label's latest interval while its number of pairs
    is within REFRESH_SHARE (at least REFRESH_PAIRS) of this one's (a bootstrap costs about
    RESAMPLES calls of scikit-learn, too many to repeat for every new pair); else computed now."""
    pairs = sum(n for _a, _b, n in table)
    exact_key = _interval_key(label, weights, table)
    known = cache.get(exact_key)
    if known is not None:
        return (*known, pairs)
    latest_key = _interval_key(label, weights)
    latest = cache.get(latest_key)
    if latest is not None and abs(pairs - latest["pairs"]) <= max(
        REFRESH_PAIRS, REFRESH_SHARE * latest["pairs"]
    ):
        return (*latest["interval"], latest["pairs"])
    interval = bootstrap_interval(table, weights=weights)
    cache.set(exact_key, list(interval), INTERVAL_CACHE_SECONDS)
    cache.set(latest_key, {"pairs": pairs, "interval": list(interval)}, INTERVAL_CACHE_SECONDS)
    return (*interval, pairs)


def agreement(rules: dict | None = None) -> list[Agreement]:
    """Agreement per label of REVIEW_AGREEMENT (the decision first): one grouped query per label."""
    rules = consensus.check_rules(settings.REVIEW_AGREEMENT if rules is None else rules)
    labels = ["decision", *(label for label in rules if label != "decision")]
    out = []
    for label in labels:
        rule = rules.get(label, "exact")
        numeric = rule != "exact"
        weights = "linear" if numeric else None
        table = _clean_table(pair_table(label), numeric)
        pairs = sum(n for _a, _b, n in table)
        kappa = kappa_of_table(table, weights=weights)
        low = high = None
        used = interval_pairs = 0
        if kappa is not None:
            low, high, used, interval_pairs = _cached_interval(label, table, weights)
        agreeing = (
            sum(n for a, b, n in table if consensus.values_agree(rule, a, b)) / pairs
            if pairs
            else None
        )
        out.append(
            Agreement(
                label=label,
                rule=rule,
                pairs=pairs,
                kappa=kappa,
                low=low,
                high=high,
                agreeing=agreeing,
                weights=weights or "",
                resamples=used,
                interval_pairs=interval_pairs,
                table=table,
            )
        )
    return out


# --- everything, cached -------------------------------------------------------------------------

STATS_KEY = "curation:review-stats"
# After a change, cached figures still stand this long since they were counted.
RECOUNT_SECONDS = 60


@dataclass
class ReviewStats:
    queue: QueueAge
    throughput: Throughput
    decisions: dict[str, list[Rate]]
    flags: dict[str, list[Rate]]
    adjudication: AdjudicationRate
    agreement: list[Agreement]


def _stats_version(now: datetime) -> str:
    latest = CaseEvent.objects.aggregate(latest=Max("pk"))["latest"]
    flags_version = ImageFlag.objects.aggregate(latest=Coalesce(Max("pk"), 0))["latest"]
    return hashlib.sha256(
        json.dumps(
            [latest, flags_version, week_start(now).isoformat(), settings.REVIEW_AGREEMENT],
            default=str,
        ).encode()
    ).hexdigest()


def review_stats(now: datetime | None = None, *, use_cache: bool = True) -> ReviewStats:
    """Every figure of the dashboard. The queue's age is read each time (it grows with the clock);
    the rest is cached under a version: the latest case event's id (every claim, flag, decision
    and adjudication writes one), the latest flag and the week. A recount takes seconds on a large
    bank and a busy queue writes events all the time (every claim), so after a change the cached
    figures still stand for RECOUNT_SECONDS since they were counted: the figures are at most that
    old, and counted at most once in that time."""
    now = now or timezone.now()
    queue = queue_age(now)
    version = None
    if use_cache:
        version = _stats_version(now)
        known = cache.get(STATS_KEY)
        if known is not None and (
            known["version"] == version
            or (
                (now - known["counted_at"]).total_seconds() < RECOUNT_SECONDS
                and known["week"] == week_start(now)
            )
        ):
            return ReviewStats(queue=queue, **known["parts"])
    parts = {
        "throughput": throughput(now=now),
        "decisions": decision_rates(),
        "flags": flag_reason_rates(),
        "adjudication": adjudication_rate(),
        "agreement": agreement(),
    }
    if version is not None:
        cache.set(
            STATS_KEY,
            {"version": version, "counted_at": now, "week": week_start(now), "parts": parts},
            STATS_CACHE_SECONDS,
        )
    return ReviewStats(queue=queue, **parts)


def as_json(stats: ReviewStats) -> dict:
    """The figures as plain JSON (the bench and scripts)."""
    return json.loads(json.dumps(asdict(stats), default=str))
