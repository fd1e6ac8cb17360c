"""Read queries of curation, filtered by what the user may see (views and templates never
filter)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from curation.models import CheckResult, CheckThreshold, Verdict
from curation.permissions import can_change_check_thresholds, can_see_curation_reports
from imagebank.selectors import cases_for_user

FLAGGED = (Verdict.WARN, Verdict.FAIL)
MOST_FLAGGED_IMAGES = 25


def _with_image_key(results: QuerySet[CheckResult]) -> QuerySet[CheckResult]:
    # Case-level results have no image; 0 stands for "the case itself", which no image id is.
    return results.annotate(image_key=Coalesce("image_id", Value(0), output_field=IntegerField()))


def latest_results(results: QuerySet[CheckResult]) -> QuerySet[CheckResult]:
    """Of `results`, the latest of each check on each image (and on each case, for case-level
    checks): the row run last. A new version of a check is only ever run after the old one, so
    this is the result of its latest version; older versions' rows stay for the releases that
    used them. One query: a row is kept unless a newer row of the same check and image exists."""
    newer = _with_image_key(
        CheckResult.objects.filter(case=OuterRef("case"), check_name=OuterRef("check_name"))
    ).filter(
        Q(image_key=OuterRef("image_key"))
        & (
            Q(checked_at__gt=OuterRef("checked_at"))
            | Q(checked_at=OuterRef("checked_at"), pk__gt=OuterRef("pk"))
        )
    )
    return _with_image_key(results).filter(~Exists(newer))


def visible_results(user) -> QuerySet[CheckResult]:
    """Check results of the cases the user may see (imagebank.selectors.cases_for_user)."""
    return CheckResult.objects.filter(case__in=cases_for_user(user).values("pk"))


def case_results(user, case) -> list[CheckResult]:
    """The latest result of each check on the case and its images, for the case page; none when
    the user may not see the case. Case-level results first, then by image and check."""
    results = latest_results(visible_results(user).filter(case=case.pk)).select_related("image")
    return sorted(
        results,
        key=lambda result: (result.image_id is not None, result.image_id or 0, result.check_name),
    )


def overlay_result(user, pk: int) -> CheckResult | None:
    """A result with an overlay, of a case the user may see (else None: the view answers 404)."""
    return visible_results(user).filter(pk=pk).exclude(overlay="").first()


# --- the curators' quality flags ----------------------------------------------------------------


@dataclass(frozen=True)
class FlagRate:
    """How often the results of one group (a site, a capture device, a check) were flagged."""

    key: str
    label: str
    total: int
    warned: int
    failed: int
    errors: int

    @property
    def flagged(self) -> int:
        return self.warned + self.failed

    @property
    def rate(self) -> float:
        """Warnings and failures as a share of the group's results (0 to 1)."""
        return self.flagged / self.total if self.total else 0.0

    @property
    def percent(self) -> float:
        return round(100 * self.rate, 1)


@dataclass
class FlagRates:
    total: int
    by_site: list[FlagRate] = field(default_factory=list)
    by_device: list[FlagRate] = field(default_factory=list)
    by_check: list[FlagRate] = field(default_factory=list)


@dataclass(frozen=True)
class FlaggedImage:
    image_id: int
    case_id: int
    site_name: str
    display_order: int
    step: str
    warned: int
    failed: int
    checks: tuple[tuple[str, str], ...]  # (check name, verdict) of each flagged result

    @property
    def flagged(self) -> int:
        return self.warned + self.failed


def report_results(
    user, *, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[CheckResult]:
    """The latest results (latest_results) checked in [since, until), for the curators' reports;
    none for anyone else."""
    if not can_see_curation_reports(user):
        return CheckResult.objects.none()
    results = latest_results(visible_results(user))
    if since is not None:
        results = results.filter(checked_at__gte=since)
    if until is not None:
        results = results.filter(checked_at__lt=until)
    return results


def _counts() -> dict:
    return {
        "total": Count("pk"),
        "warned": Count("pk", filter=Q(verdict=Verdict.WARN)),
        "failed": Count("pk", filter=Q(verdict=Verdict.FAIL)),
        "errors": Count("pk", filter=Q(verdict=Verdict.ERROR)),
    }


def _grouped(results: QuerySet[CheckResult], key: str, label: str) -> list[FlagRate]:
    names = dict.fromkeys([key, label])  # once each, when the key is its own label
    rows = results.order_by().values(*names).annotate(**_counts()).order_by(*names)
    return [
        FlagRate(
            key=str(row[key] or ""),
            label=str(row[label] or ""),
            total=row["total"],
            warned=row["warned"],
            failed=row["failed"],
            errors=row["errors"],
        )
        for row in rows
    ]


def flag_rates(user, *, since: datetime | None = None, until: datetime | None = None) -> FlagRates:
    """Flag rates per site, per capture device (image-level results only: a case has no device)
    and per check, each counted by the database (one grouped query each)."""
    results = report_results(user, since=since, until=until)
    total = results.order_by().count()
    return FlagRates(
        total=total,
        by_site=_grouped(results, "case__site__slug", "case__site__name"),
        by_device=_grouped(
            results.filter(image__isnull=False), "image__capture_device", "image__capture_device"
        ),
        by_check=_grouped(results, "check_name", "check_name"),
    )


def most_flagged_images(
    user,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = MOST_FLAGGED_IMAGES,
) -> list[FlaggedImage]:
    """The images with the most warnings and failures among their latest results, most first;
    with the checks that flagged each (one more query, over those images only)."""
    flagged = report_results(user, since=since, until=until).filter(
        image__isnull=False, verdict__in=FLAGGED
    )
    top = list(
        flagged.order_by()
        .values("image_id", "case_id", "case__site__name", "image__display_order", "image__step")
        .annotate(
            flags=Count("pk"),
            warned=Count("pk", filter=Q(verdict=Verdict.WARN)),
            failed=Count("pk", filter=Q(verdict=Verdict.FAIL)),
        )
        .order_by("-flags", "-failed", "image_id")[:limit]
    )
    checks: dict[int, list[tuple[str, str]]] = {}
    for image_id, check_name, verdict in (
        flagged.filter(image_id__in=[row["image_id"] for row in top])
        .order_by("image_id", "check_name")
        .values_list("image_id", "check_name", "verdict")
    ):
        checks.setdefault(image_id, []).append((check_name, verdict))
    return [
        FlaggedImage(
            image_id=row["image_id"],
            case_id=row["case_id"],
            site_name=row["case__site__name"],
            display_order=row["image__display_order"],
            step=row["image__step"],
            warned=row["warned"],
            failed=row["failed"],
            checks=tuple(checks.get(row["image_id"], ())),
        )
        for row in top
    ]


# --- thresholds ---------------------------------------------------------------------------------


def threshold_overrides(user) -> QuerySet[CheckThreshold]:
    """Every curator's override of a default threshold; none for anyone who may not set them."""
    if not can_change_check_thresholds(user):
        return CheckThreshold.objects.none()
    return CheckThreshold.objects.select_related("site", "updated_by")
