"""The curators' page that creates a benchmark task on a published release version (the page's
form of `manage.py create_task`).

Permission: model_bench.services.benchmark_tasks.can_manage_tasks (curators and superusers; 403
for anyone else, the sign-in page for anonymous visitors). The write is create_task's; its
ValidationErrors are shown on the fields they name.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from imagebank.permissions import require
from model_bench.forms import TaskForm, apply_service_errors
from model_bench.services.benchmark_tasks import can_manage_tasks, create_task


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def task_new(request: HttpRequest) -> HttpResponse:
    require(can_manage_tasks(request.user), _("Only curators create benchmark tasks."))
    status = 200
    form = TaskForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                task = create_task(actor=request.user, **form.task_arguments())
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Task %(slug)s created: queue its models' jobs from its page.")
                    % {"slug": task.slug},
                )
                return redirect("model_bench:task", task.slug)
        status = 400
    return render(request, "model_bench/task_new.html", {"form": form}, status=status)
