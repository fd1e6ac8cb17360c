"""The portal's own pages: the public home page and the dashboard of each role.

The dashboard shows one section for each role the user holds, built from permission-filtered
selectors; a role with nothing to show yet says so rather than showing placeholders.
"""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from access_requests.roles import ACCESS_COMMITTEE, RESEARCHER
from curation.roles import REVIEWER
from curation.services import notices
from imagebank import selectors
from imagebank.lifecycle import CaseState
from imagebank.models import Case
from imagebank.roles import CURATOR, user_roles

RECENT_CASES = 8
QUEUE_LENGTH = 20
RECENT_EVENTS = 15


def _state_counts(cases: QuerySet[Case]) -> list[dict[str, Any]]:
    """Counts for every state in lifecycle order, zeros included, so the layout never jumps."""
    counts = selectors.case_counts_by_state(cases)
    return [
        {"state": state.value, "label": state.label, "count": counts.get(state.value, 0)}
        for state in CaseState
    ]


def _contributor_section(user) -> dict[str, Any] | None:
    sites = list(selectors.contributable_sites(user))
    if not sites:
        return None
    own_cases = selectors.cases_for_user(user).filter(site__in=sites)
    return {
        "sites": [
            {"site": site, "counts": _state_counts(own_cases.filter(site=site))} for site in sites
        ],
        "recent": selectors.case_list(user)
        .filter(site__in=sites)
        .order_by("-updated_at", "-pk")[:RECENT_CASES],
        "needs_attention": own_cases.filter(state=CaseState.RETURNED).count(),
    }


def _reviewer_section(user) -> dict[str, Any]:
    awaiting = selectors.case_list(user, state=CaseState.IN_REVIEW)
    submitted = selectors.cases_for_user(user).exclude(state=CaseState.DRAFT)
    return {
        "queue": awaiting.order_by("submitted_at", "pk")[:QUEUE_LENGTH],
        "awaiting": awaiting.count(),
        "counts": [row for row in _state_counts(submitted) if row["state"] != CaseState.DRAFT],
    }


def _curator_section(user) -> dict[str, Any]:
    cases = selectors.cases_for_user(user)
    per_site: dict[int, dict[str, int]] = {}
    for site_id, state, count in (
        cases.order_by().values_list("site_id", "state").annotate(n=Count("pk"))
    ):
        per_site.setdefault(site_id, {})[state] = count
    states = list(CaseState)
    rows = [
        {
            "site": site,
            "cells": [per_site.get(site.pk, {}).get(state.value, 0) for state in states],
            "total": sum(per_site.get(site.pk, {}).values()),
        }
        for site in selectors.sites_for_user(user)
    ]
    events = selectors.recent_case_events(user, RECENT_EVENTS)
    return {
        "states": states,
        "rows": rows,
        "totals": [sum(row["cells"][index] for row in rows) for index in range(len(states))],
        "events": [
            {
                "event": event,
                "from_label": CaseState(event.from_state).label if event.from_state else "",
                "to_label": CaseState(event.to_state).label if event.to_state else "",
            }
            for event in events
        ],
    }


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Permission: public. Shows what the bank is; nothing private."""
    return render(request, "portal/home.html")


def _mark_notices_read(request: HttpRequest) -> HttpResponse:
    """ "Mark as read": `notice` is one of the user's notices (its id) or "all"; only the user's
    own notices are touched (curation.services.notices.mark_read filters on the user)."""
    value = request.POST.get("notice", "")
    if value == "all":
        notices.mark_read(request.user)
    elif value.isdigit() and len(value) < 19:
        notices.mark_read(request.user, [int(value)])
    else:
        return HttpResponseBadRequest(_("notice: give a notice's number or “all”."))
    return redirect("portal:dashboard")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def dashboard(request: HttpRequest) -> HttpResponse:
    """Permission: login; each section reads through permission-filtered selectors. A POST marks
    the user's own notices read."""
    if request.method == "POST":
        return _mark_notices_read(request)
    user = request.user
    roles = user_roles(user)
    is_curator = CURATOR in roles or user.is_superuser
    context = {
        "contributor": _contributor_section(user),
        "reviewer": _reviewer_section(user) if REVIEWER in roles else None,
        "curator": _curator_section(user) if is_curator else None,
        "access_committee": ACCESS_COMMITTEE in roles,
        "researcher": RESEARCHER in roles,
    }
    context["has_any_role"] = any(context.values())
    # The user's own notices of the review (a case returned, accepted, rejected; an adjudication
    # waiting), whatever their role.
    context["notices"] = notices.unread_notices(user)
    return render(request, "portal/dashboard.html", context)
