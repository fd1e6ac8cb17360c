"""The review queue at scale: SQL queries and latency of the reviewer's and curator's pages with
1,000 and with 50,000 cases (and their checks and reviews) in PostgreSQL.

    .venv/bin/python bench/review_queue.py [--cases 50000] [--small 1000] [--requests 40]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

A temporary database is created on the server --database-url names (dropped afterwards); without
a server the run is skipped with the reason. In a child process (Django reads its settings once):

- the project's schema is migrated; one real case is made through the services (three processed
  synthetic images); then cases are cloned from it with bulk inserts: each with its three images,
  three image check results per image and one case-level result, and a review round in the mix a
  working bank has: 20% waiting for reviews (half of them with one review in), 5% waiting for
  adjudication, 65% accepted or rejected and 10% returned, every finished round with its two
  submitted reviews (by 40 reviewers, none of the cases' sites) with label opinions and, for one
  review in ten, an image flag;
- at --small cases and again at --cases cases (the same database, grown): for each page, the
  number of SQL queries of one request and the median and p95 latency of --requests requests
  through Django's test client (the whole middleware stack, the read audit included):
  the queue page (GET /review/, a reviewer with nothing claimed), the review screen
  (GET /review/<id>/ of the reviewer's live claim), the curator's dashboard
  (GET /curation/reviews/; its figures are cached until the next case event, so the first
  request after a change counts everything: that one is measured too, as `dashboard_first`, and
  the recount alone, `dashboard_recount`, which reuses the kappa intervals' cache) and
  POST /api/reviews/next/ (a claim; each released again, untimed, before the next);
- the baseline: the median of a trivial view in the same run (GET / as a signed-in user: the home
  page, no query of its own), so the targets compare across machines: p95 within 3x the baseline
  for the queue page and next-case, 10x for the dashboard; and the query counts at --cases equal
  to those at --small (`*_query_growth`, target 0).

A page that does not exist yet is reported as skipped with the reason. Ends with one line
`RESULT {json}`.
"""

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from result import print_result  # noqa: E402 - bench/result.py, beside this script
from scratch_postgres import TemporaryPostgres, postgres_unavailable  # noqa: E402

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
WORKER_MARK = "REVIEWBENCH "
QUEUE_TARGET = 3.0
NEXT_TARGET = 3.0
DASHBOARD_TARGET = 10.0
REVIEWERS = 40
SITES = 20
BATCH = 5000
IMAGE_CHECKS = ("focus", "glare", "blood")
TZ = ("type_1", "type_2", "type_3")
PAGES = ("baseline", "queue", "screen", "dashboard", "next")


def setup_django(data_dir: Path, database_url: str) -> None:
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    for name in ("REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    os.environ["DATABASE_URL"] = database_url
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("ACCOUNT_EMAIL_VERIFICATION", "none")
    import django

    django.setup()


# --- the data -----------------------------------------------------------------------------------


class Bank:
    """The people and the template case the clones copy."""

    def __init__(self) -> None:
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        from curation.roles import REVIEWER
        from fixtures.synthetic_cervix import render_jpeg
        from imagebank.models import User
        from imagebank.roles import CURATOR
        from imagebank.services import cases as case_services
        from imagebank.services import images as image_services
        from imagebank.services import sites as site_services
        from imagebank.tasks import process_image

        self.sites = [
            site_services.create_site(
                slug=f"bench-{n}",
                name=f"Clinic {n}",
                country="KE",
                clinical_setting="district_hospital",
            )
            for n in range(SITES)
        ]
        self.contributors = []
        for n, site in enumerate(self.sites):
            user = User.objects.create_user(f"contributor{n}@bench.example", None)
            site_services.add_site_member(site=site, user=user)
            self.contributors.append(user)
        self.reviewers = []
        for n in range(REVIEWERS):
            user = User.objects.create_user(f"reviewer{n}@bench.example", None)
            site_services.grant_role(user=user, role=REVIEWER)
            self.reviewers.append(user)
        # The reviewer whose pages are measured: reviewed nothing, belongs to no site.
        self.reviewer = User.objects.create_user("measured@bench.example", None)
        site_services.grant_role(user=self.reviewer, role=REVIEWER)
        self.curator = User.objects.create_user("curator@bench.example", None)
        site_services.grant_role(user=self.curator, role=CURATOR)
        TOTP.activate(self.curator, generate_totp_secret())

        site, contributor = self.sites[0], self.contributors[0]
        self.template = case_services.create_case(
            site=site,
            actor=contributor,
            local_patient_id="BENCH-TEMPLATE",
            adequacy="adequate",
            transformation_zone="type_1",
        )
        for order, step in enumerate(("before_acetic_acid", "after_acetic_acid", "after_lugol")):
            image = image_services.add_image(
                case=self.template,
                actor=contributor,
                fileobj=io.BytesIO(render_jpeg(step, seed=order, size=(320, 240))),
                filename=f"{step}.jpg",
                step=step,
                capture_device="Leisegang 3ML" if order else "Zeiss 150 FC",
            )
            process_image(image.pk)
        self.template.refresh_from_db()
        self.images = list(self.template.images.order_by("display_order"))
        self.made = 0


def _clone(instance, **values):
    clone = type(instance)()
    for field in instance._meta.concrete_fields:
        if field.primary_key:
            continue
        setattr(clone, field.attname, getattr(instance, field.attname))
    for name, value in values.items():
        setattr(clone, name, value)
    return clone


def grow(bank: Bank, count: int, rng: random.Random) -> None:
    """Add `count` cases with their images, checks, queue entries, reviews and flags."""
    from django.db import connection, transaction
    from django.utils import timezone

    from curation.models import (
        CheckResult,
        EntryStatus,
        ImageFlag,
        QueueEntry,
        Review,
        ReviewStatus,
    )
    from imagebank.lifecycle import CaseState
    from imagebank.models import Case, Image

    now = timezone.now()
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        plan = []
        for _ in range(size):
            draw = rng.random()
            if draw < 0.10:
                kind = "waiting0"
            elif draw < 0.20:
                kind = "waiting1"
            elif draw < 0.25:
                kind = "adjudication"
            elif draw < 0.35:
                kind = "returned"
            elif draw < 0.75:
                kind = "accepted"
            else:
                kind = "rejected"
            plan.append(kind)
        with transaction.atomic():
            cases = []
            for index, kind in enumerate(plan):
                n = bank.made + done + index
                site_index = n % SITES
                state = {
                    "waiting0": CaseState.IN_REVIEW,
                    "waiting1": CaseState.IN_REVIEW,
                    "adjudication": CaseState.IN_REVIEW,
                    "returned": CaseState.RETURNED,
                    "accepted": CaseState.ACCEPTED,
                    "rejected": CaseState.REJECTED,
                }[kind]
                cases.append(
                    _clone(
                        bank.template,
                        site_id=bank.sites[site_index].pk,
                        created_by_id=bank.contributors[site_index].pk,
                        state=state,
                        submitted_at=now - timedelta(days=rng.randint(0, 120)),
                        transformation_zone=rng.choice(TZ),
                        swede_total=rng.randint(0, 10),
                    )
                )
            cases = Case.objects.bulk_create(cases, batch_size=BATCH)
            images = [_clone(image, case_id=case.pk) for case in cases for image in bank.images]
            images = Image.objects.bulk_create(images, batch_size=BATCH)
            results = []
            for image in images:
                for check in IMAGE_CHECKS:
                    results.append(
                        CheckResult(
                            case_id=image.case_id,
                            image_id=image.pk,
                            check_name=check,
                            version="1",
                            value=rng.random() * 100,
                            threshold=50.0,
                            verdict="warn" if rng.random() < 0.08 else "pass",
                        )
                    )
            for case in cases:
                results.append(
                    CheckResult(
                        case_id=case.pk,
                        check_name="sequence_complete",
                        version="1",
                        verdict="pass",
                    )
                )
            CheckResult.objects.bulk_create(results, batch_size=BATCH)
            entries = []
            for case, kind in zip(cases, plan, strict=True):
                waiting = kind.startswith("waiting")
                entries.append(
                    QueueEntry(
                        case_id=case.pk,
                        round=1,
                        entered_at=case.submitted_at,
                        reviews_required=2,
                        reviews_done={"waiting0": 0, "waiting1": 1}.get(kind, 2),
                        status=EntryStatus.WAITING
                        if waiting
                        else EntryStatus.ADJUDICATION
                        if kind == "adjudication"
                        else EntryStatus.DECIDED,
                        outcome=""
                        if waiting or kind == "adjudication"
                        else {
                            "returned": CaseState.RETURNED,
                            "accepted": CaseState.ACCEPTED,
                            "rejected": CaseState.REJECTED,
                        }[kind],
                        decided_at=None if waiting or kind == "adjudication" else now,
                        disagreement={"decision": ["accept", "reject"]}
                        if kind == "adjudication"
                        else {},
                    )
                )
            entries = QueueEntry.objects.bulk_create(entries, batch_size=BATCH)
            reviews = []
            images_of = {}
            for image in images:
                images_of.setdefault(image.case_id, []).append(image.pk)
            for position, (entry, case, kind) in enumerate(zip(entries, cases, plan, strict=True)):
                done_reviews = entry.reviews_done
                first = (bank.made + done + position) % REVIEWERS
                decisions = {
                    "waiting1": ["accept"],
                    "adjudication": ["accept", "reject"],
                    "returned": ["return", "accept"],
                    "accepted": ["accept", "accept"],
                    "rejected": ["reject", "reject"],
                }.get(kind, [])
                for k in range(done_reviews):
                    submitted = case.submitted_at + timedelta(hours=rng.randint(1, 200))
                    opinion = {}
                    if rng.random() < 0.3:
                        opinion["transformation_zone"] = rng.choice(TZ)
                    if rng.random() < 0.3:
                        opinion["swede_total"] = max(
                            0, min(10, case.swede_total + rng.randint(-2, 2))
                        )
                    decision = decisions[k]
                    reviews.append(
                        Review(
                            entry_id=entry.pk,
                            case_id=case.pk,
                            reviewer_id=bank.reviewers[(first + k) % REVIEWERS].pk,
                            status=ReviewStatus.SUBMITTED,
                            claimed_at=submitted - timedelta(minutes=20),
                            claim_expires=submitted + timedelta(minutes=10),
                            submitted_at=submitted,
                            decision=decision,
                            reasons=[] if decision == "accept" else ["poor_quality"],
                            message="" if decision != "return" else "Retake the Lugol image.",
                            label_opinions=opinion,
                        )
                    )
            reviews = Review.objects.bulk_create(reviews, batch_size=BATCH)
            flags = [
                ImageFlag(
                    review_id=review.pk,
                    image_id=rng.choice(images_of[review.case_id]),
                    reason=rng.choice(("glare", "blood", "out_of_focus", "mucus")),
                )
                for review in reviews
                if rng.random() < 0.1
            ]
            ImageFlag.objects.bulk_create(flags, batch_size=BATCH)
        done += size
    bank.made += count
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- the measures -------------------------------------------------------------------------------


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _time(call, requests: int) -> tuple[float, float, int]:
    """Median and p95 ms of `requests` calls (after two to warm up) and the queries of one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()
    call()
    with CaptureQueriesContext(connection) as captured:
        call()
    queries = len(captured.captured_queries)
    _time.slowest = _slowest(captured.captured_queries, 2)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, queries


def _slowest(queries: list[dict], count: int = 3) -> list[dict]:
    """The slowest queries of one request: their time and the start of their SQL."""
    ranked = sorted(queries, key=lambda query: -float(query["time"]))[:count]
    return [{"ms": float(q["time"]) * 1000, "sql": q["sql"][:240]} for q in ranked]


def _ok(response, *codes) -> None:
    if response.status_code not in codes:
        raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")


def measure(bank: Bank, requests: int) -> dict:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from curation import review_stats
    from curation.services import reviews as review_services

    out: dict = {"skipped": {}}
    reviewer = _client(bank.reviewer)
    curator = _client(bank.curator)

    def page(name, call):
        median, p95, queries = _time(call, requests)
        out[name] = {
            "median_ms": median,
            "p95_ms": p95,
            "queries": queries,
            "slowest_queries": _time.slowest,
        }

    page("baseline", lambda: _ok(reviewer.get("/"), 200))

    try:
        queue_url = reverse("curation:review-queue")
    except NoReverseMatch:
        out["skipped"]["queue"] = "no review-queue URL yet"
    else:
        page("queue", lambda: _ok(reviewer.get(queue_url), 200))

    review = review_services.claim_next(bank.reviewer)
    if review is None:
        out["skipped"]["screen"] = "nothing to claim"
    else:
        try:
            screen_url = reverse("curation:review-screen", args=[review.pk])
        except NoReverseMatch:
            out["skipped"]["screen"] = "no review-screen URL yet"
        else:
            page("screen", lambda: _ok(reviewer.get(screen_url), 200))
        review_services.release(review, actor=bank.reviewer)

    dashboard_url = reverse("curation:review-dashboard")
    cache.clear()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        _ok(curator.get(dashboard_url), 200)
    out["dashboard_first"] = {
        "ms": (time.perf_counter() - started) * 1000,
        "queries": len(captured.captured_queries),
    }
    recounts = []
    for _ in range(3):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            review_stats.review_stats(use_cache=False)
        recounts.append((time.perf_counter() - started) * 1000)
    out["dashboard_recount"] = {
        "median_ms": statistics.median(recounts),
        "slowest_queries": _slowest(captured.captured_queries),
    }
    page("dashboard", lambda: _ok(curator.get(dashboard_url), 200))

    try:
        next_url = reverse("curation-api:reviews-next")
    except NoReverseMatch:
        next_url = "/api/reviews/next/"

    def claim_and_give_back() -> None:
        started = time.perf_counter()
        response = reviewer.post(next_url, content_type="application/json")
        elapsed = (time.perf_counter() - started) * 1000
        _ok(response, 200, 201)
        from curation.models import Review

        held = Review.objects.get(pk=response.json()["review"])
        review_services.release(held, actor=bank.reviewer)
        timings.append(elapsed)

    probe = reviewer.post(next_url, content_type="application/json")
    if probe.status_code == 404:
        out["skipped"]["next"] = "POST /api/reviews/next/ answers 404 (not wired yet)"
    else:
        _ok(probe, 200, 201)
        from curation.models import Review

        review_services.release(Review.objects.get(pk=probe.json()["review"]), actor=bank.reviewer)
        timings: list[float] = []
        with CaptureQueriesContext(connection) as captured:
            response = reviewer.post(next_url, content_type="application/json")
        _ok(response, 200, 201)
        queries = len(captured.captured_queries)
        slowest = _slowest(captured.captured_queries, 2)
        review_services.release(
            Review.objects.get(pk=response.json()["review"]), actor=bank.reviewer
        )
        for _ in range(requests):
            claim_and_give_back()
        timings.sort()
        out["next"] = {
            "median_ms": statistics.median(timings),
            "p95_ms": timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))],
            "queries": queries,
            "slowest_queries": slowest,
        }
    return out


def worker(database_url: str, cases: int, small: int, requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-review-") as folder:
        setup_django(Path(folder) / "data", database_url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        rng = random.Random(20261201)
        started = time.perf_counter()
        bank = Bank()
        grow(bank, small, rng)
        small_fill = time.perf_counter() - started
        at_small = measure(bank, requests)
        started = time.perf_counter()
        grow(bank, cases - small, rng)
        large_fill = time.perf_counter() - started
        at_large = measure(bank, requests)
        engine = connection.vendor
        connection.close()
    figures = {
        "engine": engine,
        "fill_s": {"small": small_fill, "large": large_fill},
        "small": at_small,
        "large": at_large,
    }
    print(WORKER_MARK + json.dumps(figures), flush=True)


def run_worker(database_url: str, args) -> dict:
    command = [
        sys.executable, __file__, "--worker", database_url, "--cases", str(args.cases),
        "--small", str(args.small), "--requests", str(args.requests),
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in finished.stdout.splitlines():
        if line.startswith(WORKER_MARK):
            return json.loads(line[len(WORKER_MARK) :])
    raise RuntimeError(f"the bench process failed:\n{finished.stderr[-4000:]}")


def summary(raw: dict, cases: int, small: int) -> dict:
    large, few = raw["large"], raw["small"]
    baseline = large["baseline"]["median_ms"]
    figures: dict = {
        "engine": raw["engine"],
        "cases": cases,
        "small_cases": small,
        "fill_s": raw["fill_s"],
        "baseline_median_ms": baseline,
        "skipped": large.get("skipped", {}),
        "dashboard_first_ms": large["dashboard_first"]["ms"],
        "dashboard_first_queries": {
            "small": few["dashboard_first"]["queries"],
            "large": large["dashboard_first"]["queries"],
        },
        "dashboard_first_query_growth": large["dashboard_first"]["queries"]
        - few["dashboard_first"]["queries"],
        "dashboard_recount_ms": large["dashboard_recount"]["median_ms"],
        "dashboard_recount_slowest": large["dashboard_recount"]["slowest_queries"],
    }
    for name in ("queue", "screen", "dashboard", "next"):
        if name not in large:
            continue
        figures[name] = {
            "median_ms": large[name]["median_ms"],
            "p95_ms": large[name]["p95_ms"],
            "p95_over_baseline": large[name]["p95_ms"] / baseline,
            "queries": {"small": few[name]["queries"], "large": large[name]["queries"]},
            "small_median_ms": few[name]["median_ms"],
            "slowest_queries": large[name].get("slowest_queries", []),
        }
        figures[f"{name}_query_growth"] = large[name]["queries"] - few[name]["queries"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES,
        help="the PostgreSQL server to create the temporary database on",
    )
    parser.add_argument("--worker", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.cases, args.small, args.requests)
        return
    targets = {
        "queue_p95": {"figure": "queue.p95_over_baseline", "max": QUEUE_TARGET},
        "next_p95": {"figure": "next.p95_over_baseline", "max": NEXT_TARGET},
        "dashboard_p95": {"figure": "dashboard.p95_over_baseline", "max": DASHBOARD_TARGET},
        "queue_queries_flat": {"figure": "queue_query_growth", "max": 0},
        "screen_queries_flat": {"figure": "screen_query_growth", "max": 0},
        "dashboard_queries_flat": {"figure": "dashboard_query_growth", "max": 0},
        "dashboard_first_queries_flat": {"figure": "dashboard_first_query_growth", "max": 0},
        "next_queries_flat": {"figure": "next_query_growth", "max": 0},
    }
    why = postgres_unavailable(args.database_url)
    if why:
        figures = {"skipped": f"PostgreSQL: {why}"}
    else:
        with TemporaryPostgres(args.database_url, prefix="bench_review") as url:
            figures = summary(run_worker(url, args), args.cases, args.small)
    print_result(figures, targets)


if __name__ == "__main__":
    main()
