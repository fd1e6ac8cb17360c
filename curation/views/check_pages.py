"""The curators' pages of the automated checks: "Check thresholds" (every check's thresholds with
their defaults and the overrides per site and capture device, a form to add, change or remove
one) and "Quality flags" (how often the checks flag results per site, device and check over a
period, and the most-flagged images).

Permission: curation.permissions.can_change_check_thresholds and can_see_curation_reports
(curators and superusers; 403 for anyone else). The reads come from curation.selectors.
"""

import logging
from collections import defaultdict
from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from curation import selectors
from curation.checks import defaults
from curation.checks.thresholds import parameters
from curation.forms import PeriodForm, ThresholdForm, check_label, known_checks
from curation.models import CheckThreshold, Verdict
from curation.permissions import can_change_check_thresholds, can_see_curation_reports
from curation.services.thresholds import remove_threshold
from imagebank import vocabularies as vocab
from imagebank.models import Image, Site
from imagebank.permissions import require

logger = logging.getLogger("curation.thresholds")

# Most capture devices a form suggests (the field takes any).
DEVICE_SUGGESTIONS = 200


def _specificity(override: CheckThreshold) -> tuple:
    return (
        override.site is not None,
        bool(override.capture_device),
        getattr(override.site, "name", ""),
        override.capture_device,
    )


def _threshold_table(user) -> tuple[list[dict], list[CheckThreshold]]:
    """Each check with its parameters, defaults and overrides; and the overrides of thresholds
    the checks no longer have (shown so that they can be removed)."""
    overrides: dict[tuple[str, str], list[CheckThreshold]] = defaultdict(list)
    for override in selectors.threshold_overrides(user):
        overrides[(override.check_name, override.parameter)].append(override)
    checks = []
    for name in known_checks():
        rows = [
            {
                "parameter": parameter,
                "default": defaults.DEFAULTS[name][parameter],
                "overrides": sorted(overrides.pop((name, parameter), []), key=_specificity),
            }
            for parameter in parameters(name)
        ]
        checks.append({"name": name, "label": check_label(name), "rows": rows})
    stale = sorted((o for rows in overrides.values() for o in rows), key=lambda o: o.pk)
    return checks, stale


def _device_suggestions() -> list[str]:
    devices = {
        " ".join(str(device).split())
        for site_devices in Site.objects.values_list("devices", flat=True)
        for device in (site_devices or [])
        if isinstance(device, str)
    }
    devices.update(
        Image.objects.exclude(capture_device="")
        .order_by("capture_device")
        .values_list("capture_device", flat=True)
        .distinct()[:DEVICE_SUGGESTIONS]
    )
    return sorted(device for device in devices if device)[:DEVICE_SUGGESTIONS]


def _initial_from(request: HttpRequest, user) -> dict:
    """The form filled in from an override's "Change" link (?edit=<id>)."""
    pk = request.GET.get("edit", "")
    if not pk.isdigit():
        return {}
    override = selectors.threshold_overrides(user).filter(pk=int(pk)).first()
    if override is None:
        return {}
    return {
        "threshold": f"{override.check_name}:{override.parameter}",
        "site": override.site_id,
        "capture_device": override.capture_device,
        "value": override.value,
    }


def _scope(site, device: str) -> str:
    site_name = site.name if site is not None else _("every site")
    return f"{site_name} · {device}" if device else site_name


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def thresholds_page(request: HttpRequest) -> HttpResponse:
    """Permission: can_change_check_thresholds (403)."""
    require(
        can_change_check_thresholds(request.user),
        _("Only curators set the thresholds of the checks."),
    )
    status = 200
    if request.method == "POST":
        form = ThresholdForm(request.POST)
        if form.is_valid():
            override, created = form.save(request.user)
            logger.info(
                "threshold %s user=%s %s.%s site=%s device=%r value=%s",
                "added" if created else "changed",
                request.user.pk,
                override.check_name,
                override.parameter,
                override.site_id,
                override.capture_device,
                override.value,
            )
            messages.success(
                request,
                _(
                    "Saved: %(check)s, %(parameter)s = %(value)s for %(scope)s. Results already "
                    "stored keep the thresholds they were checked with; `python manage.py "
                    "run_checks --force` runs the checks again with the new ones."
                )
                % {
                    "check": check_label(override.check_name),
                    "parameter": override.parameter,
                    "value": f"{override.value:g}",
                    "scope": _scope(override.site, override.capture_device),
                },
            )
            return redirect("curation:thresholds")
        status = 400
    else:
        form = ThresholdForm(initial=_initial_from(request, request.user))
    checks, stale = _threshold_table(request.user)
    return render(
        request,
        "curation/thresholds.html",
        {"form": form, "checks": checks, "stale": stale, "devices": _device_suggestions()},
        status=status,
    )


@login_required
@require_POST
def threshold_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: can_change_check_thresholds (403), then the override must exist (404)."""
    require(
        can_change_check_thresholds(request.user),
        _("Only curators set the thresholds of the checks."),
    )
    override = get_object_or_404(selectors.threshold_overrides(request.user), pk=pk)
    logger.info(
        "threshold removed user=%s %s.%s site=%s device=%r value=%s",
        request.user.pk,
        override.check_name,
        override.parameter,
        override.site_id,
        override.capture_device,
        override.value,
    )
    remove_threshold(actor=request.user, override=override)
    messages.success(
        request,
        _(
            "Removed: %(check)s, %(parameter)s for %(scope)s; the default or a wider override "
            "is in force again. `python manage.py run_checks --force` runs the checks again."
        )
        % {
            "check": check_label(override.check_name),
            "parameter": override.parameter,
            "scope": _scope(override.site, override.capture_device),
        },
    )
    return redirect("curation:thresholds")


@login_required
@require_safe
def flags_page(request: HttpRequest) -> HttpResponse:
    """Permission: can_see_curation_reports (403). A wrong date is a 400 naming the field."""
    require(can_see_curation_reports(request.user), _("Only curators see the quality flags."))
    form = PeriodForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "curation/flags.html", {"form": form}, status=400)
    since, until = form.bounds() if form.is_bound else (None, None)
    rates = selectors.flag_rates(request.user, since=since, until=until)
    rates.by_check = [replace(rate, label=check_label(rate.key)) for rate in rates.by_check]
    images = [
        {
            "flagged": flagged,
            "step_label": vocab.EXAMINATION_STEP.label(flagged.step),
            "checks": [
                (check_label(name), verdict, Verdict(verdict).label)
                for name, verdict in flagged.checks
            ],
        }
        for flagged in selectors.most_flagged_images(request.user, since=since, until=until)
    ]
    return render(
        request,
        "curation/flags.html",
        {"form": form, "rates": rates, "images": images, "period_given": bool(since or until)},
    )
