"""The reads behind the curators' "Background work" page (imagebank.views.operations): how many
messages wait in each Celery queue, how much of each kind of work waits in the database and
since when, and the latest task failures.

Every read here is of something that may be out: the broker is asked with the short timeouts of
imagebank.health, and a queue it could not count, or a kind whose backlog could not be read,
is shown as unavailable instead of failing the page.
"""

import logging
import os
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet

from imagebank import health, outages
from imagebank.models import TaskFailure
from imagebank.permissions import can_see_operations
from imagebank.reconcile import work_kinds

logger = logging.getLogger(__name__)

RECENT_FAILURES = 50
# kombu's virtual transports (Redis included) keep a queue's messages of priority 0 in a list
# named after the queue, and those of each higher step in "<queue>\x06\x16<step>".
_PRIORITY_STEPS = (0, 3, 6, 9)
_PRIORITY_SEPARATOR = "\x06\x16"


@dataclass(frozen=True)
class QueueLength:
    name: str
    waiting: int | None  # None: the broker could not be asked


@dataclass(frozen=True)
class WorkBacklog:
    name: str
    label: str
    count: int | None  # None: the backlog could not be read
    oldest: datetime | None


def _filesystem_lengths(connection, names: list[str]) -> dict[str, int]:
    """kombu's filesystem transport writes each message to its own file in the queue folder,
    named "<time>_<uuid>.<queue>.msg" (Channel._put); a worker moves it out when it takes it."""
    wanted = {f"{name}.msg": name for name in names}
    counts = dict.fromkeys(names, 0)
    for folder in health.filesystem_folders(connection):
        try:
            files = os.listdir(folder)
        except FileNotFoundError:
            continue
        for file_name in files:
            name = wanted.get(file_name.partition(".")[2])
            if name is not None:
                counts[name] += 1
    return counts


def _redis_lengths(connection, names: list[str]) -> dict[str, int]:
    channel = connection.default_channel
    separator = getattr(channel, "sep", _PRIORITY_SEPARATOR)
    steps = getattr(channel, "priority_steps", _PRIORITY_STEPS)
    lists = [
        (name, name if step == 0 else f"{name}{separator}{step}")
        for name in names
        for step in steps
    ]
    # The channel's client adds the transport's global_keyprefix, when there is one.
    with channel.client.pipeline(transaction=False) as pipe:
        for _name, key in lists:
            pipe.llen(key)
        lengths = pipe.execute()
    counts = dict.fromkeys(names, 0)
    for (name, _key), length in zip(lists, lengths, strict=True):
        counts[name] += int(length or 0)
    return counts


def queue_lengths(names: list[str] | None = None) -> list[QueueLength]:
    """Messages waiting in each queue (settings.CELERY_QUEUE_NAMES), not counting those a worker
    has taken; every queue `waiting=None` when the broker cannot be asked."""
    names = list(settings.CELERY_QUEUE_NAMES if names is None else names)
    try:
        with health.broker_connection() as connection:
            health.connect(connection)
            if health.is_filesystem(connection):
                counts = _filesystem_lengths(connection, names)
            else:
                counts = _redis_lengths(connection, names)
    except Exception as error:  # the broker is out: the page says so, and still shows
        logger.warning("queue lengths unavailable: %s: %s", type(error).__name__, error)
        return [QueueLength(name, None) for name in names]
    return [QueueLength(name, counts[name]) for name in names]


def work_backlogs() -> list[WorkBacklog]:
    """Each registered kind of background work (imagebank.reconcile): how many items wait, and
    since when the oldest has."""
    backlogs = []
    for kind in work_kinds():
        try:
            backlog = kind.backlog()
        except Exception as error:  # one kind's failure does not hide the others
            logger.warning(
                "backlog of %s unavailable: %s: %s", kind.name, type(error).__name__, error
            )
            backlogs.append(WorkBacklog(kind.name, str(kind.label), None, None))
            continue
        backlogs.append(WorkBacklog(kind.name, str(kind.label), backlog.count, backlog.oldest))
    return backlogs


def service_label(service: str) -> str:
    """The service named on a TaskFailure, for people ("" when no outage caused it)."""
    return outages.service_label(service) if service else ""


def recent_task_failures(user, limit: int = RECENT_FAILURES) -> QuerySet[TaskFailure]:
    """The latest task failures, newest first: for curators and superusers, none for others."""
    if not can_see_operations(user):
        return TaskFailure.objects.none()
    return TaskFailure.objects.order_by("-at", "-pk")[:limit]
