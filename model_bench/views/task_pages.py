"""The public benchmark pages: the list of tasks and a task's page (its description, its data,
its models' results and its jobs), with the curators' form that queues jobs on it.

Permission: the list and the task pages are public (tasks on published release versions only,
model_bench.selectors.public_tasks; any other slug is a 404), and show counts and aggregate
metrics only, never an image or one image's label. Queueing is for curators
(model_bench.services.benchmark_tasks.can_manage_tasks: 403 for anyone else, the sign-in page
for anonymous visitors), by POST only, through model_bench.services.jobs.queue_job.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from curation import benchmark_selectors, mask_selectors
from curation.models import OutlineKind
from curation.models.releases import SPLIT_CHOICES
from imagebank import vocabularies as vocab
from imagebank.permissions import require
from model_bench import selectors
from model_bench.forms import QueueJobsForm, apply_service_errors
from model_bench.models import BenchmarkTask
from model_bench.services import jobs as job_services
from model_bench.services.benchmark_tasks import can_manage_tasks
from model_bench.views import result_tables

# Jobs listed on a task's page (the newest).
TASK_PAGE_JOBS = 100


def public_task_or_404(slug: str) -> BenchmarkTask:
    task = selectors.task_by_slug(slug)
    if task is None:
        raise Http404(_("No benchmark task has this name."))
    return task


@require_safe
def task_list(request: HttpRequest) -> HttpResponse:
    """Every public task with its primary metric's best result."""
    items = []
    for task in selectors.public_tasks():
        best = selectors.best_row(task, selectors.task_results(task))
        items.append(
            {
                "task": task,
                "metric": result_tables.METRIC_TITLES.get(task.primary_metric),
                "best": best,
                "best_cell": (
                    result_tables.metric_cell(best["metrics"][task.primary_metric])
                    if best
                    else None
                ),
            }
        )
    return render(
        request,
        "model_bench/task_list.html",
        {"items": items, "can_create": can_manage_tasks(request.user)},
    )


def _split_rows(task: BenchmarkTask) -> tuple[list[dict], list[str]]:
    """The version's images per split and, where masks are known, the images with a mask of
    each kind per split (counts only). Returns (rows, the mask kinds shown)."""
    counts = benchmark_selectors.split_counts(task.version)
    mask_counts_of = getattr(mask_selectors, "mask_counts", None)
    masks = mask_counts_of(task.version) if mask_counts_of is not None else {}
    kinds = [
        kind for kind in OutlineKind.values if any((per or {}).get(kind) for per in masks.values())
    ]
    titles = dict(SPLIT_CHOICES)
    rows = [
        {
            "code": split,
            "title": titles.get(split, split),
            "images": counts.get(split, 0),
            "masks": [(masks.get(split) or {}).get(kind, 0) for kind in kinds],
        }
        for split in counts
    ]
    return rows, kinds


def _class_rows(task: BenchmarkTask) -> list[dict]:
    """Each class with the label values it gathers."""
    gathered: dict[str, list[str]] = {name: [] for name in task.classes}
    for value, name in sorted((task.class_map or {}).items()):
        gathered.setdefault(name, []).append(value)
    return [{"name": name, "values": values} for name, values in gathered.items()]


def task_context(request: HttpRequest, task: BenchmarkTask, queue_form=None) -> dict:
    can_manage = can_manage_tasks(request.user)
    split_rows, mask_kinds = _split_rows(task)
    if can_manage and queue_form is None:
        queue_form = QueueJobsForm(task=task)
    return {
        "task": task,
        "version": task.version,
        "steps": [vocab.EXAMINATION_STEP.label(step) for step in task.steps],
        "class_rows": _class_rows(task),
        "split_rows": split_rows,
        "mask_kinds": [OutlineKind(kind).label for kind in mask_kinds],
        "results": result_tables.table(task, selectors.task_results(task)),
        "board": selectors.board_rows(task, selectors.leaderboard(task)),
        "may_submit": bool(selectors.group_keys_of(request.user, task)),
        "metric_title": result_tables.METRIC_TITLES.get(task.primary_metric),
        "jobs": list(selectors.jobs_of(task)[:TASK_PAGE_JOBS]),
        "can_manage": can_manage,
        "queue_form": queue_form if can_manage else None,
    }


@require_safe
def task_page(request: HttpRequest, slug: str) -> HttpResponse:
    task = public_task_or_404(slug)
    return render(request, "model_bench/task_page.html", task_context(request, task))


CARD_FIELDS = (
    ("architecture", gettext_lazy("Architecture")),
    ("parameters", gettext_lazy("Number of parameters")),
    ("training_data", gettext_lazy("Training data")),
    ("settings", gettext_lazy("Training settings")),
    ("training_time", gettext_lazy("Training time")),
)


@require_safe
def entry_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A board entry's model card, public as the board is: what the submitter said of the
    model (architecture, training data and settings, parameters, time, code and paper), the
    release version it was scored on, its score with the interval, its pictures. A reference
    model's card is its job's page, with the configuration the bank trained it with."""
    task = public_task_or_404(slug)
    entry = selectors.board_entry(task, pk)
    if entry is None:
        raise Http404(_("No such entry on this board."))
    if entry.job_id:
        return redirect("model_bench:job", task.slug, entry.job_id)
    row = selectors.board_rows(task, [entry])[0]
    card = entry.submission.model_card or {}
    context = {
        "task": task,
        "entry": row,
        "metric_title": result_tables.METRIC_TITLES.get(task.primary_metric, task.primary_metric),
        "card": [
            (title, card[name]) for name, title in CARD_FIELDS if card.get(name) not in (None, "")
        ],
        "code_url": card.get("code_url"),
        "paper_url": card.get("paper_url"),
    }
    return render(request, "model_bench/entry_page.html", context)


@login_required
@require_POST
def task_queue(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue one job per model ticked, all or none (a model refused leaves nothing queued)."""
    require(can_manage_tasks(request.user), _("Only curators run benchmark jobs."))
    task = public_task_or_404(slug)
    form = QueueJobsForm(request.POST, task=task)
    if form.is_valid():
        try:
            with transaction.atomic():
                queued = [
                    job_services.queue_job(
                        task,
                        model,
                        seed=form.cleaned_data["seed"],
                        config=form.config(),
                        actor=request.user,
                    )
                    for model in form.cleaned_data["models"]
                ]
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Jobs queued: %(models)s.") % {"models": ", ".join(job.model for job in queued)},
            )
            return redirect("model_bench:task", task.slug)
    return render(
        request, "model_bench/task_page.html", task_context(request, task, form), status=400
    )
