"""The curators' "Background work" page: queue lengths, the work waiting of each kind and the
latest task failures (docs/deployment.md, "Health checks and the operations page").

Permission: permissions.can_see_operations (curators and superusers; 403 for anyone else). The
reads come from imagebank.operations; a broker that is out shows as "unavailable", not as an
error page.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from imagebank import operations
from imagebank.permissions import can_see_operations, require


@login_required
@require_safe
def operations_page(request: HttpRequest) -> HttpResponse:
    """Permission: can_see_operations (403)."""
    require(can_see_operations(request.user), _("Only curators see the background work."))
    queues = operations.queue_lengths()
    failures = operations.recent_task_failures(request.user)
    return render(
        request,
        "imagebank/operations.html",
        {
            "queues": queues,
            "broker_unavailable": any(queue.waiting is None for queue in queues),
            "backlogs": operations.work_backlogs(),
            "failure_rows": [
                (failure, operations.service_label(failure.service)) for failure in failures
            ],
            "recent_failures": operations.RECENT_FAILURES,
            "now": timezone.now(),
        },
    )
