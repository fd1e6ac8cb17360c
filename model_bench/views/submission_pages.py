"""The submitter's pages of a task (issue 15, item 4): the submission form, the group's
submissions with the limits left, and a submission's result (every metric with its interval,
the pictures, the errors of an invalid file, its history).

Who: the form is for accessors named on a live grant of the task's version (the service checks
it again); a result is for its submitter, the accessors of the same group and curators
(model_bench.selectors.submission_for); anyone else gets a 404, as for a submission that does
not exist, so that ids say nothing.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from model_bench import selectors
from model_bench.forms import SubmissionForm, apply_service_errors
from model_bench.models import SubmissionState
from model_bench.services import predictions, submissions
from model_bench.views import result_tables
from model_bench.views.task_pages import public_task_or_404

# The page reloads itself while the submission waits for its score.
RELOAD_SECONDS = 3
EXTRA_TITLES = {
    "ppv": gettext_lazy("positive predictive value"),
    "npv": gettext_lazy("negative predictive value"),
}


def _level(row: dict) -> dict:
    """One level's figures for the page: every metric with its interval, in the row's order."""
    return {
        "level": row.get("level"),
        "n_test": row.get("n_test"),
        "n_cases": row.get("n_cases"),
        "metrics": [
            (
                EXTRA_TITLES.get(code) or result_tables.METRIC_TITLES.get(code, code),
                result_tables.metric_cell(figure),
            )
            for code, figure in (row.get("metrics") or {}).items()
        ],  # fmt: skip
        "confusion_matrix": row.get("confusion_matrix"),
    }


def onnx_limits() -> dict:
    from model_bench.services.onnx_models import Limits

    limits = Limits.from_settings()
    return {"seconds": limits.seconds, "memory_mb": limits.memory_mb}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def submission_new(request: HttpRequest, slug: str) -> HttpResponse:
    task = public_task_or_404(slug)
    holders = submissions.holders_for(request.user, task)
    if not holders:
        raise PermissionDenied(
            _("Only members named on a live grant of this task's release version submit to it.")
        )
    form = SubmissionForm(request.POST or None, request.FILES or None, holders=holders,
                          segmentation=task.is_segmentation)  # fmt: skip
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                upload = form.cleaned_data["file"]
                submission = submissions.submit(
                    task=task, user=request.user, data=submissions.read_upload(task, upload),
                    file_name=upload.name, title=form.cleaned_data["title"],
                    group_key=form.cleaned_data.get("group") or "",
                    model_card=form.model_card(),
                )  # fmt: skip
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Received: it is checked and scored in a moment."))
                return redirect("model_bench:submission", task.slug, submission.pk)
        status = 400
    keys = [holder.key for holder in holders]
    context = {
        "task": task,
        "form": form,
        "limits": submissions.limits_left(task, keys[0]),
        "header": [] if task.is_segmentation else predictions.expected_header(task),
        "limits_mb": {
            kind: submissions.max_bytes(kind) // 1024**2
            for kind in submissions.accepted_kinds(task)
        },  # fmt: skip
        "onnx": onnx_limits(),
        "key_column": predictions.key_column(task),
        "positive_class": task.positive_class,
        "per_day": submissions.per_day(),
        "per_task": submissions.per_task(),
        "submissions": list(selectors.submissions_of(request.user, task)[:50]),
    }
    return render(request, "model_bench/submission_new.html", context, status=status)


@login_required
@require_safe
def submission_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    task = public_task_or_404(slug)
    submission = selectors.submission_for(request.user, task, pk)
    if submission is None:
        raise Http404(_("No such submission."))
    pictures = {
        name: reverse("model_bench:submission-picture", args=[task.slug, submission.pk, name])
        for name in selectors.PICTURES
        if name in (submission.pictures or {})
    }
    context = {
        "task": task,
        "submission": submission,
        "levels": [_level(row) for row in (submission.results or {}).get("rows", [])],
        "pictures": pictures,
        "events": [
            (event.at, SubmissionState(event.to_state).label, event.note)
            for event in submission.events.all()
        ],
        "waiting": submission.state in (SubmissionState.RECEIVED, SubmissionState.SCORING),
        "reload_seconds": RELOAD_SECONDS,
    }
    return render(request, "model_bench/submission_page.html", context)
