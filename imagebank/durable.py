"""How every background task of the bank runs, and how work is handed to the broker.

`DurableTask` is the base of every task (the Celery app's `task_cls`): late acknowledgement, a
message given back when its worker dies, outages retried with exponential backoff and jitter, and
a failure for good recorded as a TaskFailure for the curators' operations page.

`send_task` and `send_task_on_commit` hand a task to the broker without ever failing the request
that asks: the intent is already in the database (an image pending, a run queued), so when the
broker is out the message is simply not sent, logged once, and the reconciler
(imagebank.reconcile) sends it when the broker is back.
"""

import logging
import random
from collections.abc import Callable

from celery import Task
from celery.exceptions import Retry
from django.db import transaction

from imagebank import outages

logger = logging.getLogger(__name__)

# Backoff for outages: 2, 4, 8 … seconds, at most 5 minutes, each with up to a quarter more at
# random so that workers that failed together do not all come back together. Eight retries span
# about nine minutes; after that the task fails and the reconciler sends it again later.
RETRY_BASE_SECONDS = 2
RETRY_CAP_SECONDS = 300
MAX_OUTAGE_RETRIES = 8


def backoff_seconds(retries: int) -> float:
    delay = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2**retries)
    return delay + random.uniform(0, delay / 4)  # noqa: S311 (jitter, not a secret)


class DurableTask(Task):
    """The base of every task in the bank."""

    acks_late = True
    # A worker killed mid-task (kill -9, out of memory) gives its message back instead of
    # acknowledging it. Tasks guard against a message that kills its worker every time by
    # counting their starts on the object (see imagebank.tasks).
    reject_on_worker_lost = True
    max_retries = MAX_OUTAGE_RETRIES

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Retry:
            raise
        except Exception as error:
            service = outages.service_out(error)
            if service is None or self.request.called_directly:
                raise
            if self.request.retries >= self.max_retries:
                raise
            countdown = backoff_seconds(self.request.retries)
            logger.warning(
                "%s%s: the %s is out (%s: %s); retry %s in %.0f s",
                self.name,
                list(args),
                service,
                type(error).__name__,
                error,
                self.request.retries + 1,
                countdown,
            )
            raise self.retry(exc=error, countdown=countdown) from error

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        record_failure(self.name, args, exc)


def record_failure(task_name: str, args, error: BaseException) -> None:
    """Keep a failed task for the operations page; never raise (the database may be the cause)."""
    from imagebank.models import TaskFailure

    message = (str(error).strip().splitlines() or [""])[0]
    try:
        TaskFailure.objects.create(
            task=task_name[:200],
            object_id=str(args[0])[:100] if args else "",
            error_type=type(error).__name__[:200],
            message=message[:500],
            service=outages.service_out(error) or "",
        )
    except Exception as recording_error:
        logger.warning(
            "could not record the failure of %s%s (%s): %s",
            task_name,
            list(args or ()),
            type(error).__name__,
            recording_error,
        )


def send_task(task: Task, *args, on_unsent: Callable[[], None] | None = None) -> bool:
    """Send the task; if the broker is out, log it once, call `on_unsent` and return False.

    Only outages are swallowed: any other error is a bug and raises. `on_unsent` marks the object
    "not sent" so that the reconciler sends it at its next pass rather than after the usual delay.
    """
    try:
        task.delay(*args)
    except Exception as error:
        service = outages.service_out(error)
        if service is None:
            raise
        logger.warning(
            "%s%s not sent: the %s is out (%s: %s); the reconciler will send it",
            task.name,
            list(args),
            service,
            type(error).__name__,
            error,
        )
        if on_unsent is not None:
            try:
                on_unsent()
            except Exception as marking_error:  # the reconciler still finds it, only later
                logger.warning("could not mark %s%s unsent: %s", task.name, args, marking_error)
        return False
    return True


def send_task_on_commit(task: Task, *args, on_unsent: Callable[[], None] | None = None) -> None:
    """send_task once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_task(task, *args, on_unsent=on_unsent))
