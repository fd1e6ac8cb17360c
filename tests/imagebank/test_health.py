"""/health/ (liveness) and /ready/ (readiness): JSON for probes, 503 naming what is out, nothing
of the services' addresses or errors in the answer, and let through by the SSL redirect, the
second-factor middleware and the audit of reads."""

import socket
from pathlib import Path

import kombu
import pytest
from django.core.files.storage import FileSystemStorage
from django.db import OperationalError, connections
from django.urls import reverse

from imagebank import health
from imagebank.models import ReadEvent
from tests.factories import make_user_with_role
from tests.roles import Role
from tests.totp import with_totp

ALL_OK = {"database": "ok", "cache": "ok", "broker": "ok", "storage": "ok"}
SECRET_HOST = "db-primary.internal.example"


def refused_port() -> int:
    """A local port nothing listens on (bound, then freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_not_stored(response) -> None:
    assert "no-store" in response["Cache-Control"]


# --- /health/ -----------------------------------------------------------------------------------


def test_health_answers_ok_without_touching_the_database(client):
    # No django_db mark: any query would fail this test.
    response = client.get("/health/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert_not_stored(response)
    assert not response.cookies  # no session, no CSRF cookie


def test_health_is_the_named_route():
    assert reverse("imagebank:health") == "/health/"
    assert reverse("imagebank:ready") == "/ready/"


# --- /ready/ ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ready_answers_ok_when_every_service_answers(client, local_storage):
    response = client.get("/ready/", HTTP_ACCEPT="text/html")  # JSON whatever is asked for
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "checks": ALL_OK, "failed": []}
    assert_not_stored(response)
    assert not response.cookies
    # The storage check saved, read back and deleted its file, and left no folder behind.
    assert list(Path(local_storage).rglob("*")) == []


@pytest.mark.django_db
def test_ready_answers_503_naming_the_database_when_it_is_out(client, monkeypatch):
    def refuse(self, conn_params):
        raise OperationalError(f'could not connect to server at "{SECRET_HOST}" (10.0.0.5)')

    # Only new connections fail: the test's own is open already; the check opens its own.
    monkeypatch.setattr(type(connections["default"]), "get_new_connection", refuse)
    response = client.get("/ready/")
    assert response.status_code == 503
    body = response.json()
    assert body == {
        "status": "failed",
        "checks": {**ALL_OK, "database": "failed"},
        "failed": ["database"],
    }
    assert SECRET_HOST not in response.content.decode()
    assert "10.0.0.5" not in response.content.decode()
    assert_not_stored(response)


@pytest.mark.django_db
def test_ready_answers_503_naming_the_storage_when_it_refuses_files(
    client, local_storage, monkeypatch
):
    def refuse(self, name, content):
        raise OSError(f"no space left on /srv/{SECRET_HOST}/media")

    monkeypatch.setattr(FileSystemStorage, "_save", refuse)
    response = client.get("/ready/")
    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]
    assert response.json()["checks"] == {**ALL_OK, "storage": "failed"}
    assert SECRET_HOST not in response.content.decode()
    assert list(Path(local_storage).rglob("*")) == []


@pytest.mark.django_db
def test_ready_answers_503_naming_the_cache_when_redis_refuses(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{refused_port()}/0",
        }
    }
    response = client.get("/ready/")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]


@pytest.mark.django_db
def test_ready_answers_503_naming_the_broker_when_redis_refuses(client, monkeypatch):
    port = refused_port()
    monkeypatch.setattr(
        health,
        "broker_connection",
        lambda seconds=health.PROBE_SECONDS: kombu.Connection(
            f"redis://127.0.0.1:{port}/0", connect_timeout=seconds
        ),
    )
    response = client.get("/ready/")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    assert str(port) not in response.content.decode()


@pytest.mark.django_db
def test_ready_answers_503_when_the_filesystem_broker_folder_is_missing(
    client, monkeypatch, tmp_path
):
    missing = str(tmp_path / "no-such-folder")
    monkeypatch.setattr(
        health,
        "broker_connection",
        lambda seconds=health.PROBE_SECONDS: kombu.Connection(
            "filesystem://",
            transport_options={"data_folder_in": missing, "data_folder_out": missing},
        ),
    )
    response = client.get("/ready/")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


# --- what lets the probes through ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/").status_code == 301  # the redirect is on for pages
    assert client.get("/health/").status_code == 200
    assert client.get("/ready/").status_code == 200


@pytest.mark.django_db
def test_the_second_factor_middleware_lets_the_probes_through(client):
    curator = make_user_with_role(Role.CURATOR)  # without a second factor yet
    client.force_login(curator)
    assert client.get(reverse("portal:dashboard")).status_code == 302  # sent to set it up
    assert client.get("/health/").status_code == 200
    response = client.get("/ready/")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_the_probes_are_not_recorded_as_reads(client):
    curator = make_user_with_role(Role.CURATOR)
    with_totp(curator)
    client.force_login(curator)
    assert client.get("/health/").status_code == 200
    assert client.get("/ready/").status_code == 200
    assert not ReadEvent.objects.exists()
