"""Is each service the bank depends on reachable right now? The checks behind /ready/.

Four checks, named as imagebank.outages names the services: the database (a `SELECT 1` on a
connection of its own), the cache (a value set, read back and deleted), the Celery broker (a
connection opened, and for kombu's filesystem transport its folders writable) and the default
file storage (a small file saved, read back and deleted, so nothing is left behind). They are
django-health-check checks (its 4.x API): imagebank.views.health runs them side by side, each in a
thread of its own under the library's wall-clock budget, so a frozen service makes /ready/ answer
503 within a few seconds instead of hanging. Each also gives its own client a short timeout
(PROBE_SECONDS), so the thread it ran in does not wait long after the answer either.

What a check raises stays in the log; the answer names only the checks and "ok" or "failed",
never a host, an address or an error message.
"""

import dataclasses
import datetime
import os
import uuid
from typing import ClassVar

import kombu
from botocore.config import Config as BotocoreConfig
from celery import current_app
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.files.storage import Storage as DjangoStorage
from django.core.files.storage import storages
from django.db import DatabaseError, connections
from django.utils.module_loading import import_string
from health_check.base import HealthCheck
from health_check.checks import Database, Storage
from health_check.exceptions import ServiceReturnedUnexpectedResult, ServiceUnavailable

from imagebank import outages

# Each client's own connect and read timeout; the library stops waiting one second later.
PROBE_SECONDS = 2.0
_PROBE_BUDGET = datetime.timedelta(seconds=PROBE_SECONDS)


@dataclasses.dataclass
class DatabaseReachable(Database):
    """The library's `SELECT 1`, on a connection of its own with a connect timeout (PostgreSQL
    would otherwise wait on a frozen server for as long as TCP does), closed afterwards."""

    name: ClassVar[str] = outages.DATABASE
    timeout: datetime.timedelta = dataclasses.field(default=_PROBE_BUDGET, repr=False)

    def run(self) -> None:
        connection = connections.create_connection(self.alias)
        if connection.vendor == "postgresql":
            options = {
                **connection.settings_dict.get("OPTIONS", {}),
                "connect_timeout": max(1, round(self.timeout.total_seconds())),
            }
            connection.settings_dict = {**connection.settings_dict, "OPTIONS": options}
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                row = cursor.fetchone()
        except DatabaseError as error:
            raise ServiceUnavailable("the database did not answer") from error
        finally:
            connection.close()
        if row != (1,):
            raise ServiceReturnedUnexpectedResult("SELECT 1 did not return 1")


def _probe_cache(alias: str):
    """The cache, with short socket timeouts when it is Redis (a separate client, so the
    site's own keeps its settings)."""
    params = settings.CACHES[alias]
    backend = import_string(params["BACKEND"])
    if not issubclass(backend, RedisCache):
        return caches[alias]
    options = {
        **params.get("OPTIONS", {}),
        "socket_timeout": PROBE_SECONDS,
        "socket_connect_timeout": PROBE_SECONDS,
    }
    return backend(params["LOCATION"], {**params, "OPTIONS": options})


@dataclasses.dataclass
class CacheReachable(HealthCheck):
    """A value set, read back and deleted. Synchronous on purpose: the library's own Cache check
    awaits the cache's async methods, which Django runs in the request's thread, where a frozen
    Redis would hold the whole answer."""

    name: ClassVar[str] = outages.CACHE
    alias: str = "default"
    timeout: datetime.timedelta = dataclasses.field(default=_PROBE_BUDGET, repr=False)

    def run(self) -> None:
        cache = _probe_cache(self.alias)
        key = f"health-check:{uuid.uuid4().hex}"
        try:
            cache.set(key, "ok", timeout=30)
            kept = cache.get(key)
            cache.delete(key)
        except Exception as error:
            raise ServiceUnavailable("the cache did not answer") from error
        if kept != "ok":
            raise ServiceReturnedUnexpectedResult("the cache did not keep a value")


def broker_connection(seconds: float = PROBE_SECONDS) -> kombu.Connection:
    """A new connection to the Celery broker whose connect and socket waits last `seconds`.

    Not connected yet: call `ensure_connection(max_retries=1, ...)` (as BrokerReachable does),
    never `default_channel` first, which retries for ever. Use it in a `with` block.
    """
    return current_app.connection_for_read(
        connect_timeout=seconds,
        transport_options={"socket_timeout": seconds, "socket_connect_timeout": seconds},
    )


def connect(connection: kombu.Connection, seconds: float = PROBE_SECONDS) -> None:
    """Connect once, with one quick retry and no pause; kombu's OperationalError if it fails."""
    connection.ensure_connection(
        max_retries=1, interval_start=0, interval_step=0, interval_max=0, timeout=seconds
    )


def filesystem_folders(connection: kombu.Connection) -> list[str]:
    """The folders kombu's filesystem transport writes messages to and reads them from."""
    options = connection.transport_options
    return sorted(
        {options.get("data_folder_in", "data_in"), options.get("data_folder_out", "data_out")}
    )


def is_filesystem(connection: kombu.Connection) -> bool:
    return connection.transport.driver_type == "filesystem"


@dataclasses.dataclass
class BrokerReachable(HealthCheck):
    """A connection to the Celery broker opened (for Redis, kombu pings it) and closed. kombu's
    filesystem transport has no server: there, its message folders must exist and be writable."""

    name: ClassVar[str] = outages.BROKER
    timeout: datetime.timedelta = dataclasses.field(default=_PROBE_BUDGET, repr=False)

    def run(self) -> None:
        seconds = self.timeout.total_seconds()
        try:
            with broker_connection(seconds) as connection:
                connect(connection, seconds)
                if is_filesystem(connection):
                    for folder in filesystem_folders(connection):
                        if not (os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)):
                            raise ServiceUnavailable("a broker folder is missing or read-only")
        except ServiceUnavailable:
            raise
        except Exception as error:
            raise ServiceUnavailable("the broker did not answer") from error


def _probe_storage(alias: str) -> DjangoStorage:
    """The storage, with short timeouts and a single attempt when it is S3 (a separate client:
    the site's own keeps botocore's patient defaults)."""
    storage = storages[alias]
    client_config = getattr(storage, "client_config", None)
    if not isinstance(client_config, BotocoreConfig):
        return storage
    short = BotocoreConfig(
        connect_timeout=PROBE_SECONDS,
        read_timeout=PROBE_SECONDS,
        retries={"max_attempts": 1, "mode": "standard"},
    )
    backend = settings.STORAGES[alias]
    options = {**backend.get("OPTIONS", {}), "client_config": client_config.merge(short)}
    return storages.create_storage({**backend, "OPTIONS": options})


@dataclasses.dataclass
class StorageReachable(Storage):
    """The library's save, read back and delete, with a file at the storage's top level (the
    library's own goes in a folder, which a local folder would keep once the file is gone)."""

    name: ClassVar[str] = outages.STORAGE
    timeout: datetime.timedelta = dataclasses.field(default=_PROBE_BUDGET, repr=False)

    @property
    def storage(self) -> DjangoStorage:
        if not hasattr(self, "_probe"):
            self._probe = _probe_storage(self.alias)
        return self._probe

    def get_file_name(self) -> str:
        return f"health-check-{uuid.uuid4().hex}.txt"

    def run(self) -> None:
        try:
            super().run()
        except ServiceUnavailable:
            raise
        except Exception as error:
            raise ServiceUnavailable("the file storage did not answer") from error


READINESS_CHECKS: tuple[type[HealthCheck], ...] = (
    DatabaseReachable,
    CacheReachable,
    BrokerReachable,
    StorageReachable,
)
