"""The import pages: send one file to be imported, follow the run, read and download its report.

Every view is login_required and names its permission. Runs are read through
selectors.ingest_runs_for_user (a run of a site the user may not see is a 404); the only write,
queueing an import, goes through services.ingest.queue_ingest, which checks permission again.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models.fields.json import KeyTransform
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from imagebank import selectors
from imagebank.forms import ImportForm, apply_service_errors
from imagebank.ingest.package_template import template_zip_bytes
from imagebank.ingest.run_outcome import run_outcome
from imagebank.ingest.runs import queue_ingest
from imagebank.models import IngestRun
from imagebank.permissions import can_use_imports, require

RUNS_PER_PAGE = 25
CASES_PER_PAGE = 100
PROBLEMS_PER_PAGE = 200
# How often the page of a run that has not finished looks again (the script and the no-script
# fallback use the same figure, and the page says it).
REFRESH_SECONDS = 5
TEMPLATE_FILENAME = "case-package-template.zip"

LEVEL_LABELS = {
    "error": gettext_lazy("Error"),
    "warning": gettext_lazy("Warning"),
    "info": gettext_lazy("Note"),
}
# The problem filter: the query-string value, what the link says, the levels it shows.
LEVEL_FILTERS = (
    ("all", gettext_lazy("All"), ("error", "warning", "info")),
    ("error", gettext_lazy("Errors"), ("error",)),
    ("warning", gettext_lazy("Warnings"), ("warning",)),
    ("info", gettext_lazy("Notes"), ("info",)),
)
OUTCOME_LABELS = {
    "created": gettext_lazy("Created"),
    "updated": gettext_lazy("New images added"),
    "unchanged": gettext_lazy("Already in the bank"),
    "rejected": gettext_lazy("Not imported"),
}
# The readers' FORMAT codes (imagebank/ingest/*.py), in words.
FORMAT_LABELS = {
    "case_package": gettext_lazy("Case package"),
    "iarc": gettext_lazy("IARC image-bank folder"),
    "dicom": gettext_lazy("DICOM"),
    "image": gettext_lazy("Single image"),
}
# A case's research consent basis (Case.consent_basis) as the report's table says it; a case
# not written (or a report from before consent was recorded) shows nothing.
CONSENT_LABELS = {
    "": gettext_lazy("Not recorded: attest it on the case page, or the reviewers decide"),
    "site_agreement": gettext_lazy("The site's data-sharing agreement"),
    "attested": gettext_lazy("Attested by the contributor"),
}
SUMMARY_LABELS = (
    ("cases_created", gettext_lazy("Cases created")),
    ("cases_updated", gettext_lazy("Cases given new images")),
    ("cases_unchanged", gettext_lazy("Cases already in the bank")),
    ("cases_rejected", gettext_lazy("Cases not imported")),
    ("cases_submitted", gettext_lazy("Cases submitted for review")),
    ("cases_without_consent", gettext_lazy("Cases with no research consent recorded")),
    ("images_added", gettext_lazy("Images added")),
    ("images_already_in_bank", gettext_lazy("Images already in the bank")),
    ("images_left_out", gettext_lazy("Images left out")),
    ("errors", gettext_lazy("Errors")),
    ("warnings", gettext_lazy("Warnings")),
)


def _require_import_access(user) -> None:
    require(can_use_imports(user), _("Only contributors of a site and curators see imports."))


def _visible_run(request: HttpRequest, pk: int) -> IngestRun:
    _require_import_access(request.user)
    return get_object_or_404(selectors.ingest_runs_for_user(request.user), pk=pk)


def _summary_rows(run: IngestRun) -> list[dict[str, Any]]:
    summary = run.summary
    return [
        {"key": key, "label": label, "count": summary.get(key, 0)} for key, label in SUMMARY_LABELS
    ]


def _format_label(run: IngestRun) -> str:
    codes = [code.strip() for code in run.report.get("format", "").split(",") if code.strip()]
    return ", ".join(str(FORMAT_LABELS.get(code, code)) for code in codes)


def _case_rows(run: IngestRun) -> list[dict[str, Any]]:
    return [
        {
            **case,
            "outcome_label": OUTCOME_LABELS.get(case.get("outcome", ""), case.get("outcome", "")),
            "consent_label": CONSENT_LABELS.get(case.get("consent_basis"), ""),
            "consent_missing": case.get("consent_basis") == "",
        }
        for case in run.report.get("cases", [])
    ]


def _problem_filter(request: HttpRequest, problems: list[dict]) -> tuple[str, list[dict]]:
    """The chosen filter (unknown values show everything) and a link for each, with its count."""
    chosen = request.GET.get("level", "all")
    if chosen not in {key for key, _label, _levels in LEVEL_FILTERS}:
        chosen = "all"
    links = [
        {
            "key": key,
            "label": label,
            "count": sum(problem.get("level") in levels for problem in problems),
            "current": key == chosen,
        }
        for key, label, levels in LEVEL_FILTERS
    ]
    return chosen, links


def _problem_rows(problems: list[dict], chosen: str) -> list[dict[str, Any]]:
    levels = next(levels for key, _label, levels in LEVEL_FILTERS if key == chosen)
    return [
        {**problem, "level_label": LEVEL_LABELS.get(problem.get("level", ""), problem.get("level"))}
        for problem in problems
        if problem.get("level") in levels
    ]


# --- views --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """Permission: contributors and curators (403 otherwise); the runs are
    selectors.ingest_runs_for_user; the form offers selectors.contributable_sites and
    queue_ingest checks can_contribute_to again."""
    _require_import_access(request.user)
    sites = selectors.contributable_sites(request.user).order_by("name")
    site_count = sites.count()
    form = None
    status = 200
    if site_count:
        if request.method == "POST":
            form = ImportForm(request.POST, request.FILES, sites=sites)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    run = queue_ingest(
                        site=form.cleaned_data["site"],
                        actor=request.user,
                        fileobj=upload,
                        filename=upload.name,
                        submit=form.cleaned_data["submit"],
                    )
                except ValidationError as error:
                    apply_service_errors(form, error)
                else:
                    messages.success(
                        request,
                        _("%(file)s was received. Its import report appears below when it is done.")
                        % {"file": run.source_name},
                    )
                    return redirect("imagebank:import-detail", pk=run.pk)
            status = 400
        else:
            form = ImportForm(sites=sites)
    else:
        require(request.method != "POST", _("Only contributors of a site can import files."))
    # A report can list thousands of problems: the list reads only each report's summary.
    runs = (
        selectors.ingest_runs_for_user(request.user)
        .select_related("site", "started_by")
        .defer("report")
        .annotate(summary_data=KeyTransform("summary", "report"))
    )
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    for run in page.object_list:
        run.outcome = run_outcome(run.status, run.summary_data)
    return render(
        request,
        "imagebank/import_list.html",
        {
            "form": form,
            "page": page,
            "single_site": site_count == 1,
            "max_upload_bytes": settings.INGEST_MAX_UPLOAD_BYTES,
        },
        status=status,
    )


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: contributors and curators (403 otherwise), then
    selectors.ingest_runs_for_user (404 for a run of a site the user may not see)."""
    run = _visible_run(request, pk)
    finished = run.status in (IngestRun.Status.DONE, IngestRun.Status.FAILED)
    problems = run.report.get("problems", [])
    chosen, level_links = _problem_filter(request, problems)
    cases_page = Paginator(_case_rows(run), CASES_PER_PAGE).get_page(request.GET.get("cases_page"))
    problems_page = Paginator(_problem_rows(problems, chosen), PROBLEMS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "imagebank/import_detail.html",
        {
            "run": run,
            "outcome": run_outcome(run.status, run.summary),
            "finished": finished,
            "format_label": _format_label(run),
            "refresh_seconds": REFRESH_SECONDS,
            "summary": _summary_rows(run),
            "cases_page": cases_page,
            "case_count": len(run.report.get("cases", [])),
            "problems_page": problems_page,
            "problem_count": len(problems),
            "level": chosen,
            "level_links": level_links,
        },
    )


@login_required
@require_safe
def import_report(request: HttpRequest, pk: int) -> JsonResponse:
    """Permission: as import_detail. The report as JSON, in the shape the `ingest --report`
    command and the API give, as a download."""
    run = _visible_run(request, pk)
    if run.status != IngestRun.Status.DONE:
        raise Http404(_("This import has no report yet."))
    response = JsonResponse(run.report, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-report.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_safe
def import_template(request: HttpRequest) -> HttpResponse:
    """Permission: login (any signed-in user). The case-package template: a manifest and its
    instructions, no patient data."""
    response = HttpResponse(template_zip_bytes(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILENAME}"'
    return response
