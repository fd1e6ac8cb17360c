"""A benchmark job's page (its state, configuration, progress, log, history, metrics, curves and
artefacts), its progress as JSON for scripts, and the curators' Cancel button.

Permission: the page and progress.json are public for every job of a public task
(model_bench.selectors.job_for; a job of another task's address is a 404); the artefacts are
listed with links, and the curves shown, only for those who may download them
(selectors.can_download_artefacts). Cancelling is for curators (can_manage_tasks: 403 for
anyone else, the sign-in page for anonymous visitors), by POST only, through
model_bench.services.jobs.cancel_job.

While a job is queued or running its page reloads itself every REFRESH_SECONDS with a
<meta http-equiv="refresh"> (no script needed); progress.json gives the same to a script.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from imagebank.permissions import require
from model_bench import selectors
from model_bench.models import BenchmarkJob, JobState
from model_bench.services import jobs as job_services
from model_bench.services.benchmark_tasks import can_manage_tasks
from model_bench.views import result_tables
from model_bench.views.task_pages import public_task_or_404

REFRESH_SECONDS = 5
# Lines of the log progress.json gives (the newest): enough to follow a run, small to poll.
JSON_LOG_LINES = 50
CURVES = "curves.png"


def job_or_404(slug: str, pk: int) -> BenchmarkJob:
    task = public_task_or_404(slug)
    job = selectors.job_for(None, pk)
    if job is None or job.task_id != task.pk:
        raise Http404(_("This task has no such job."))
    return job


@require_safe
def job_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    job = job_or_404(slug, pk)
    task = job.task
    allowed = selectors.can_download_artefacts(request.user, job)
    artefacts = list(selectors.artefacts_of(job))
    context = {
        "task": task,
        "job": job,
        "live": job.state in (JobState.QUEUED, JobState.RUNNING),
        "refresh_seconds": REFRESH_SECONDS,
        "config_json": json.dumps(job.config, indent=2, sort_keys=True, ensure_ascii=False),
        "progress_percent": round(100 * job.progress),
        "log_lines": selectors.log_tail(job),
        "log_limit": selectors.PAGE_LOG_LINES,
        "events": list(selectors.events_of(job)),
        "results": result_tables.table(task, (job.results or {}).get("rows", [])),
        "artefacts": artefacts,
        "can_download": allowed,
        "curves": allowed and any(artefact.name == CURVES for artefact in artefacts),
        "curves_name": CURVES,
        "can_cancel": can_manage_tasks(request.user) and not job.is_finished,
    }
    return render(request, "model_bench/job_page.html", context)


@require_safe
def job_progress(request: HttpRequest, slug: str, pk: int) -> JsonResponse:
    """{"state", "progress", "note", "log_tail": [the newest lines, oldest first]}."""
    job = job_or_404(slug, pk)
    response = JsonResponse(
        {
            "state": job.state,
            "progress": job.progress,
            "note": job.progress_note,
            "log_tail": [line.message for line in selectors.log_tail(job, JSON_LOG_LINES)],
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def job_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    require(can_manage_tasks(request.user), _("Only curators cancel benchmark jobs."))
    job = job_or_404(slug, pk)
    try:
        job = job_services.cancel_job(job, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        if job.state == JobState.CANCELLED:
            messages.success(request, _("The job is cancelled."))
        else:
            messages.success(request, _("The job's worker is asked to stop at its next batch."))
    return redirect("model_bench:job", job.task.slug, job.pk)
