"""/health/ and /ready/: for load balancers, compose and scripts (docs/deployment.md, "Health
checks and the operations page").

/health/ (liveness) says that this process answers requests: it touches no database, cache,
broker or storage, so a service that is out never makes an orchestrator restart a web process
that is fine. /ready/ (readiness) says whether the process can do its work now: it runs the
checks of imagebank.health side by side and answers 200 when all pass, 503 when one fails.

Both answer JSON to anyone, signed in or not, and are never stored by a cache (`no-store`). The
SSL redirect (settings.SECURE_REDIRECT_EXEMPT) and the second-factor middleware let them through
(a probe speaks plain HTTP to the container and has no session), and the audit of reads does not
record them. Answers:

    /health/  200 {"status": "ok"}
    /ready/   200 {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok",
                   "storage": "ok"}, "failed": []}
              503 {"status": "failed", "checks": {..., "storage": "failed"}, "failed": ["storage"]}
"""

import asyncio
import contextlib
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from health_check.views import HealthCheckView

from imagebank.health import READINESS_CHECKS

OK = "ok"
FAILED = "failed"


@never_cache
@require_safe
def liveness(request: HttpRequest) -> JsonResponse:
    """Permission: none (a probe). This process answers; nothing else is asked."""
    return JsonResponse({"status": OK})


@contextlib.contextmanager
def _threads_not_waited_for(count: int) -> Iterator[Executor]:
    """One thread per check. A check still stuck when its budget is spent keeps its thread until
    its client's own timeout ends it; the answer does not wait for it (a `with` block on the
    executor, or the event loop's default executor, would)."""
    executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix="ready-check")
    try:
        yield executor
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


class ReadinessView(HealthCheckView):
    """Permission: none (a probe). django-health-check's view, answering JSON in the bank's shape
    whatever the Accept header, and 503 (not the library's 500) when a check fails."""

    checks = READINESS_CHECKS
    http_method_names = ["get", "head", "options"]

    def get_executor(self) -> contextlib.AbstractContextManager[Executor]:
        return _threads_not_waited_for(len(self.checks))

    async def get(self, request, *args, **kwargs) -> JsonResponse:
        with self.get_executor() as executor:
            self.results = await asyncio.gather(
                *(check.get_result(executor) for check in self.get_checks())
            )
        checks = {result.check.name: FAILED if result.error else OK for result in self.results}
        failed = [name for name, state in checks.items() if state == FAILED]
        return JsonResponse(
            {"status": FAILED if failed else OK, "checks": checks, "failed": failed},
            status=503 if failed else 200,
        )


readiness = ReadinessView.as_view()
