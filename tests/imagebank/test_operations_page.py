"""The curators' "Background work" page: queue lengths from the broker, the work waiting of each
registered kind with the age of its oldest item, and the latest task failures; nobody but
curators and superusers sees it, and a broker that is out does not break it."""

import socket
import uuid
from datetime import timedelta

import kombu
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from imagebank import health, operations, reconcile
from imagebank.models import TaskFailure
from imagebank.reconcile import Backlog, Outcome, WorkKind
from tests.conftest import require_service
from tests.factories import make_contributor, make_site, make_user_with_role
from tests.roles import Role
from tests.totp import with_totp

pytestmark = pytest.mark.django_db

URL = "/operations/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def curator_with_mfa():
    curator = make_user_with_role(Role.CURATOR)
    with_totp(curator)
    return curator


def filesystem_broker(folder) -> dict:
    """Transport options of a filesystem broker of the test's own (never the demo's folder)."""
    options = {name: str(folder / name) for name in ("queue", "processed", "control")}
    for path in options.values():
        (folder / path).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": options["queue"],
        "data_folder_out": options["queue"],
        "processed_folder": options["processed"],
        "control_folder": options["control"],
    }


@pytest.fixture
def broker(monkeypatch, tmp_path):
    """The page's broker: a filesystem one in the test's folder; returns a connection to it."""
    options = filesystem_broker(tmp_path / "broker")
    monkeypatch.setattr(
        health,
        "broker_connection",
        lambda seconds=health.PROBE_SECONDS: kombu.Connection(
            "filesystem://", transport_options=options
        ),
    )
    return lambda: kombu.Connection("filesystem://", transport_options=options)


@pytest.fixture
def work_kind(monkeypatch):
    """A kind of work registered for the test only: three items waiting, the oldest for 12
    minutes."""
    name = "test-waiting-things"
    oldest = timezone.now() - timedelta(minutes=12, seconds=5)
    kind = WorkKind(
        name=name,
        label="Things waiting for the test",
        reconcile=lambda now: Outcome(),
        backlog=lambda: Backlog(count=3, oldest=oldest),
    )
    monkeypatch.setitem(reconcile._kinds, name, kind)
    return kind


def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- who sees it --------------------------------------------------------------------------------


def test_contributors_and_reviewers_are_refused():
    contributor = make_contributor(make_site())
    reviewer = make_user_with_role(Role.REVIEWER)
    for user in (contributor, reviewer):
        client = signed_in(user)
        assert client.get(URL).status_code == 403
        # Nor does their navigation offer it.
        dashboard = client.get(reverse("portal:dashboard"))
        assert URL not in dashboard.content.decode()


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_curator_without_a_second_factor_is_sent_to_set_it_up():
    response = signed_in(make_user_with_role(Role.CURATOR)).get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


def test_curators_and_superusers_see_it_and_find_it_in_the_navigation(broker, admin_user):
    assert reverse("imagebank:operations") == URL
    for user in (curator_with_mfa(), admin_user):
        client = signed_in(user)
        response = client.get(URL)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        dashboard = client.get(reverse("portal:dashboard")).content.decode()
        assert f'href="{URL}"' in dashboard


# --- what it shows ------------------------------------------------------------------------------


def test_it_shows_the_messages_waiting_in_each_queue(broker):
    with broker() as connection:
        waiting = connection.SimpleQueue("ingest")
        waiting.put({"task": "one"})
        waiting.put({"task": "two"})
        waiting.close()
    response = signed_in(curator_with_mfa()).get(URL)
    lengths = {queue.name: queue.waiting for queue in response.context["queues"]}
    assert list(lengths) == django_settings.CELERY_QUEUE_NAMES
    assert lengths["ingest"] == 2
    assert lengths["default"] == 0
    assert not response.context["broker_unavailable"]
    page = response.content.decode()
    assert '<tr data-queue="ingest">' in page
    assert "<caption" in page and '<th scope="col"' in page


def test_a_broker_that_is_out_shows_the_queues_as_unavailable(monkeypatch):
    port = refused_port()
    monkeypatch.setattr(
        health,
        "broker_connection",
        lambda seconds=health.PROBE_SECONDS: kombu.Connection(
            f"redis://127.0.0.1:{port}/0", connect_timeout=seconds
        ),
    )
    response = signed_in(curator_with_mfa()).get(URL)
    assert response.status_code == 200
    assert all(queue.waiting is None for queue in response.context["queues"])
    assert response.context["broker_unavailable"]
    page = response.content.decode()
    assert page.count("unavailable</span>") == len(django_settings.CELERY_QUEUE_NAMES)
    assert str(port) not in page


def test_it_shows_each_kind_of_work_with_its_count_and_oldest_age(broker, work_kind):
    response = signed_in(curator_with_mfa()).get(URL)
    backlog = next(b for b in response.context["backlogs"] if b.name == work_kind.name)
    assert backlog.label == "Things waiting for the test"
    assert backlog.count == 3
    page = response.content.decode()
    row = page.split(f'data-work-kind="{work_kind.name}"', 1)[1].split("</tr>", 1)[0]
    assert "Things waiting for the test" in row
    assert ">3<" in row
    assert "12\xa0minutes" in row


def test_a_kind_whose_backlog_cannot_be_read_shows_unavailable(broker, monkeypatch):
    def out():
        raise ConnectionError("database out")

    kind = WorkKind(
        name="test-broken", label="Broken", reconcile=lambda now: Outcome(), backlog=out
    )
    monkeypatch.setitem(reconcile._kinds, kind.name, kind)
    response = signed_in(curator_with_mfa()).get(URL)
    assert response.status_code == 200
    backlog = next(b for b in response.context["backlogs"] if b.name == kind.name)
    assert backlog.count is None


def test_it_shows_the_latest_task_failures_newest_first(broker):
    TaskFailure.objects.bulk_create(
        TaskFailure(task="imagebank.tasks.old", object_id=str(n), error_type="ValueError")
        for n in range(operations.RECENT_FAILURES + 5)
    )
    failure = TaskFailure.objects.create(
        task="imagebank.tasks.process_image",
        object_id="4242",
        error_type="EndpointConnectionError",
        message="Could not connect to the endpoint URL",
        service="storage",
    )
    response = signed_in(curator_with_mfa()).get(URL)
    rows = response.context["failure_rows"]
    assert len(rows) == operations.RECENT_FAILURES
    assert rows[0] == (failure, "file storage")
    page = response.content.decode()
    row = page.split(f'data-task-failure="{failure.pk}"', 1)[1].split("</tr>", 1)[0]
    for shown in (
        "imagebank.tasks.process_image",
        "4242",
        "EndpointConnectionError",
        "Could not connect to the endpoint URL",
        "file storage",
    ):
        assert shown in row
    assert f"{failure.at:%Y-%m-%d %H:%M:%S}" in row


def test_recent_failures_are_for_curators_only():
    TaskFailure.objects.create(task="imagebank.tasks.x", error_type="ValueError")
    reviewer = make_user_with_role(Role.REVIEWER)
    assert not operations.recent_task_failures(reviewer).exists()
    assert operations.recent_task_failures(curator_with_mfa()).count() == 1


# --- on Redis -----------------------------------------------------------------------------------


@pytest.mark.services
def test_queue_lengths_on_redis_count_every_priority():
    require_service(bool(django_settings.REDIS_URL), "REDIS_URL is not set")
    name = f"test-operations-{uuid.uuid4().hex[:8]}"
    queue = kombu.Queue(name, exchange=kombu.Exchange(name), routing_key=name)
    with health.broker_connection() as connection:
        health.connect(connection)
        try:
            with connection.Producer() as producer:
                for priority in (0, 0, 5, 9):
                    producer.publish(
                        {"n": priority},
                        exchange=queue.exchange,
                        routing_key=name,
                        declare=[queue],
                        priority=priority,
                    )
            assert operations.queue_lengths([name]) == [operations.QueueLength(name, 4)]
        finally:
            queue(connection.default_channel).delete()
