"""The curator's review dashboard (GET /curation/reviews/, "review-dashboard"): the queue's size and
age, throughput per reviewer per week, decision and flag-reason rates per site and capture device,
the adjudication rate, and the inter-reviewer agreement per label (Cohen's kappa by scikit-learn,
its bootstrap 95% interval and the number of pairs).

The figures come from curation.review_stats (counted by the database, a fixed number of queries);
this view only lays them out. The charts are inline SVG drawn by the template from the geometry
worked out here (no script): every bar has its number beside it and a <title>, so colour is never
the only carrier.

Permission: curation.permissions.can_see_curation_reports (curators and superusers; 403).
"""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from curation import review_stats
from curation.models import Decision, FlagReason
from curation.permissions import can_see_curation_reports
from curation.views.adjudication_pages import label_title
from imagebank.permissions import require

# Each decision's colour in the stacked bars (the table beside them gives the numbers).
DECISION_COLOURS = {
    Decision.ACCEPT: "#2e7d4f",
    Decision.REJECT: "#b3261e",
    Decision.RETURN: "#b26a00",
}
BAR_COLOUR = "#2f6f8f"
# Throughput chart: bar area height in SVG units.
CHART_HEIGHT = 100


def duration(value: timedelta | None) -> str:
    """A wait in days and hours (or hours and minutes under a day)."""
    if value is None:
        return "—"
    seconds = max(0, int(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}


def _percent(share: float) -> float:
    return round(100 * share, 1)


def decision_rows(rates: list[review_stats.Rate]) -> list[dict]:
    """Each group's decisions, with the stacked bar's segments (x and width in percent)."""
    rows = []
    for rate in rates:
        segments, x = [], 0.0
        for code in Decision.values:
            share = rate.share(code)
            width = 100 * share
            segments.append(
                {
                    "code": code,
                    "label": Decision(code).label,
                    "n": rate.counts.get(code, 0),
                    "percent": _percent(share),
                    "x": round(x, 3),
                    "width": round(width, 3),
                    "colour": DECISION_COLOURS[code],
                }
            )
            x += width
        rows.append({"rate": rate, "segments": segments})
    return rows


def flag_rows(rates: list[review_stats.Rate]) -> list[dict]:
    """Each group's flag-reason rates (share of reviewed images), each with its bar's width."""
    return [
        {
            "rate": rate,
            "cells": [
                {
                    "code": code,
                    "n": rate.counts.get(code, 0),
                    "percent": _percent(rate.share(code)),
                    "width": round(100 * min(1.0, rate.share(code)), 3),
                }
                for code in FlagReason.values
            ],
        }
        for rate in rates
    ]


def throughput_chart(throughput: review_stats.Throughput) -> list[dict]:
    """The weekly totals as vertical bars (x, width, y, height in the chart's units)."""
    most = throughput.most or 1
    count = len(throughput.weeks) or 1
    slot = 100 / count
    return [
        {
            "week": week,
            "total": total,
            "x": round(index * slot + slot * 0.15, 3),
            "width": round(slot * 0.7, 3),
            "height": round(CHART_HEIGHT * total / most, 3),
            "y": round(CHART_HEIGHT - CHART_HEIGHT * total / most, 3),
        }
        for index, (week, total) in enumerate(zip(throughput.weeks, throughput.totals, strict=True))
    ]


def agreement_rows(agreement: list[review_stats.Agreement]) -> list[dict]:
    """Each label's kappa with its interval on a -1..1 axis (x in percent of the axis)."""

    def x(value: float) -> float:
        return round(50 + 50 * max(-1.0, min(1.0, value)), 3)

    rows = []
    for row in agreement:
        low_x = x(row.low) if row.low is not None else None
        high_x = x(row.high) if row.high is not None else None
        rows.append(
            {
                "row": row,
                "title": _("Decision") if row.label == "decision" else label_title(row.label),
                "rule": _("the same value")
                if row.rule == "exact"
                else _("at most %(n)s apart") % {"n": row.rule.get("within")},
                "agreeing_percent": _percent(row.agreeing) if row.agreeing is not None else None,
                "kappa_x": x(row.kappa) if row.kappa is not None else None,
                "low_x": low_x,
                "interval_width": round(high_x - low_x, 3) if low_x is not None else None,
            }
        )
    return rows


@login_required
@require_safe
def review_dashboard(request: HttpRequest) -> HttpResponse:
    """Permission: can_see_curation_reports (403)."""
    require(
        can_see_curation_reports(request.user),
        _("Only curators see the review dashboard."),
    )
    stats = review_stats.review_stats()
    return render(
        request,
        "curation/review_dashboard.html",
        {
            "stats": stats,
            "queue": stats.queue,
            "oldest_wait": duration(stats.queue.oldest_wait),
            "median_wait": duration(stats.queue.median_wait),
            "throughput": stats.throughput,
            "throughput_bars": throughput_chart(stats.throughput),
            "decisions_by_site": decision_rows(stats.decisions["site"]),
            "decisions_by_device": decision_rows(stats.decisions["device"]),
            "decision_legend": [
                {"label": Decision(code).label, "colour": DECISION_COLOURS[code]}
                for code in Decision.values
            ],
            "flag_reasons": [(code, FlagReason(code).label) for code in FlagReason.values],
            "flags_by_site": flag_rows(stats.flags["site"]),
            "flags_by_device": flag_rows(stats.flags["device"]),
            "adjudication": stats.adjudication,
            "adjudication_percent": _percent(stats.adjudication.rate),
            "agreement": agreement_rows(stats.agreement),
            "resamples": review_stats.RESAMPLES,
            "bar_colour": BAR_COLOUR,
        },
    )
