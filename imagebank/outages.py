"""Which errors mean that a service the bank depends on is out for a while, and which service.

One classification for the whole project: tasks retry these errors with backoff instead of
recording a permanent failure (imagebank.durable), and web requests answer them with a 503 and a
Retry-After instead of a 500. Anything not recognised here is a real failure of the code or of the
input, recorded or raised as such.
"""

import botocore.exceptions
import kombu.exceptions
import redis.exceptions
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.utils.translation import gettext_lazy as _

DATABASE = "database"
BROKER = "broker"
CACHE = "cache"
STORAGE = "storage"

_LABELS = {
    DATABASE: _("database"),
    BROKER: _("message broker"),
    CACHE: _("cache"),
    STORAGE: _("file storage"),
}

# S3 answers these when it is overloaded or restarting: worth another try, like a refusal.
_STORAGE_BUSY_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}
_STORAGE_BUSY_STATUSES = {500, 502, 503, 504}


def _service_of_one(error: BaseException) -> str | None:
    if isinstance(error, (DatabaseOperationalError, DatabaseInterfaceError)):
        return DATABASE
    if isinstance(error, kombu.exceptions.OperationalError):
        return BROKER
    if isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        # Raised bare only by the cache: publishing wraps them in kombu's OperationalError.
        return CACHE
    if isinstance(
        error,
        (
            botocore.exceptions.ConnectionError,  # endpoint refused, connect timed out, proxy
            botocore.exceptions.HTTPClientError,  # connection closed, read timed out
        ),
    ):
        return STORAGE
    if isinstance(error, botocore.exceptions.ClientError):
        response = error.response or {}
        code = response.get("Error", {}).get("Code", "")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _STORAGE_BUSY_CODES or status in _STORAGE_BUSY_STATUSES:
            return STORAGE
    return None


def service_out(error: BaseException) -> str | None:
    """The service (DATABASE, BROKER, CACHE, STORAGE) whose outage caused `error`, or None.

    Follows the chain of causes, since libraries wrap connection errors in their own.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        service = _service_of_one(current)
        if service is not None:
            return service
        current = current.__cause__ or current.__context__
    return None


def is_transient(error: BaseException) -> bool:
    """True when the error is a service outage worth retrying later."""
    return service_out(error) is not None


def service_label(service: str) -> str:
    """The service's name as people read it ("file storage"), in the active language."""
    return str(_LABELS.get(service, service))
