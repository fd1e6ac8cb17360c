"""Read queries, filtered by what the user may see. Templates and views never filter by hand."""

import re
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from imagebank.lifecycle import SUBMITTED_STATES
from imagebank.models import Case, CaseEvent, Image, IngestRun, ReadEvent, Site
from imagebank.permissions import can_see_read_audit, sites_with_permission
from imagebank.roles import reads_all_cases, reads_submitted_cases


def sites_for_user(user) -> QuerySet[Site]:
    """Sites a user belongs to; curators and reviewers see every site."""
    if not user.is_authenticated or not user.is_active:
        return Site.objects.none()
    if reads_submitted_cases(user):
        return Site.objects.all()
    return sites_with_permission(user, "imagebank.view_site_cases")


def contributable_sites(user) -> QuerySet[Site]:
    return sites_with_permission(user, "imagebank.contribute_to_site")


def cases_for_user(user) -> QuerySet[Case]:
    """Cases of the user's own sites, plus every submitted case for reviewers; all for curators."""
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    if reads_all_cases(user):
        visible = Q()
    else:
        own_sites = sites_with_permission(user, "imagebank.view_site_cases").values("pk")
        visible = Q(site__in=own_sites)
        if reads_submitted_cases(user):
            visible |= Q(state__in=SUBMITTED_STATES)
    return Case.objects.filter(visible).select_related("site", "subject", "created_by")


# A case number as people write it: "30", "#30".
_CASE_NUMBER = re.compile(r"^#?\s*(\d{1,12})$")


def case_search(text: str) -> Q:
    """Cases whose source reference holds the text (any case), or whose number it is."""
    text = " ".join(str(text or "").split())
    if not text:
        return Q()
    found = Q(source_reference__icontains=text)
    number = _CASE_NUMBER.match(text)
    if number:
        found |= Q(pk=int(number.group(1)))
    return found


def case_list(
    user, *, site: Site | None = None, state: str | None = None, search: str = ""
) -> QuerySet[Case]:
    """The cases the user may see, newest first; `search` finds them by case number or by the
    contributor's own case reference (see case_search), only among those."""
    # An aggregate drops the model's default ordering; pages need a stable order.
    cases = (
        cases_for_user(user).annotate(image_count=Count("images")).order_by("-created_at", "-pk")
    )
    if site is not None:
        cases = cases.filter(site=site)
    if state:
        cases = cases.filter(state=state)
    if search:
        cases = cases.filter(case_search(search))
    return cases


def case_detail(user, pk: int) -> Case:
    """The case with its images in display order, or 404 when the user may not see it."""
    return get_object_or_404(
        cases_for_user(user).prefetch_related(
            Prefetch("images", queryset=Image.objects.order_by("display_order")),
            "events__actor",
        ),
        pk=pk,
    )


def images_for_user(user) -> QuerySet[Image]:
    return Image.objects.filter(case__in=cases_for_user(user).values("pk")).select_related("case")


def case_counts_by_state(cases: QuerySet[Case]) -> dict[str, int]:
    return dict(cases.order_by().values_list("state").annotate(n=Count("pk")))


def recent_case_events(user, limit: int = 15) -> QuerySet[CaseEvent]:
    """The latest audit-trail entries of the cases the user may see, newest first."""
    return (
        CaseEvent.objects.filter(case__in=cases_for_user(user).values("pk"))
        .select_related("actor", "case__site")
        .order_by("-at", "-pk")[:limit]
    )


def ingest_runs_for_user(user) -> QuerySet[IngestRun]:
    """Imports into the sites a user contributes to; curators see all."""
    if not user.is_authenticated or not user.is_active:
        return IngestRun.objects.none()
    runs = IngestRun.objects.select_related("site", "started_by")
    if reads_all_cases(user):
        return runs
    return runs.filter(site__in=contributable_sites(user).values("pk"))


def read_events(
    user,
    *,
    case_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[ReadEvent]:
    """The audit of reads, newest first (imagebank.read_audit): every row for curators and
    superusers, none for anyone else. `since` is inclusive, `until` exclusive; by case, the
    (case, at) index serves the query."""
    if not can_see_read_audit(user):
        return ReadEvent.objects.none()
    events = ReadEvent.objects.order_by("-at", "-pk")
    if case_id is not None:
        events = events.filter(case_id=case_id)
    if since is not None:
        events = events.filter(at__gte=since)
    if until is not None:
        events = events.filter(at__lt=until)
    return events
