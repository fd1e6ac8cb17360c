"""The worker settings fit the work: every task has time limits, a message is redelivered only
after the longest of them, a killed worker gives its message back, no web request waits on a
frozen broker, and Docker waits for a warm shutdown longer than any task may run."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from config.celery import app
from imagebank.durable import DurableTask

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def bank_tasks():
    app.loader.import_default_modules()
    return [task for name, task in app.tasks.items() if not name.startswith("celery.")]


def seconds(duration: str) -> int:
    """A Compose duration such as "30m", "1h30m" or "90s"."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(number) * units[unit] for number, unit in parts)


def test_every_task_is_durable_and_has_a_soft_limit_below_its_hard_limit():
    tasks = bank_tasks()
    assert {t.name for t in tasks} >= {
        "imagebank.tasks.process_image",
        "imagebank.tasks.run_quality_checks",
        "imagebank.tasks.run_queued_ingest",
        "imagebank.tasks.reconcile",
    }
    for task in tasks:
        assert isinstance(task, DurableTask), task.name
        assert task.acks_late and task.reject_on_worker_lost, task.name
        assert task.time_limit and task.soft_time_limit, f"{task.name} has no time limits"
        assert task.soft_time_limit < task.time_limit, task.name


def test_a_message_is_redelivered_only_after_the_longest_time_limit():
    longest = max(task.time_limit for task in bank_tasks())
    assert longest < settings.CELERY_VISIBILITY_TIMEOUT_SECONDS


def test_redis_settings_carry_the_visibility_timeout_and_socket_timeouts(monkeypatch):
    import importlib

    import config.settings as module

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6399/0")
    try:
        reloaded = importlib.reload(module)
        options = reloaded.CELERY_BROKER_TRANSPORT_OPTIONS
        assert options["visibility_timeout"] == reloaded.CELERY_VISIBILITY_TIMEOUT_SECONDS
        assert 0 < options["socket_timeout"] <= 5 and 0 < options["socket_connect_timeout"] <= 5
        cache = reloaded.CACHES["default"]["OPTIONS"]
        assert 0 < cache["socket_timeout"] <= 5 and 0 < cache["socket_connect_timeout"] <= 5
        assert reloaded.CELERY_TASK_PUBLISH_RETRY_POLICY["max_retries"] <= 1
    finally:
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(module)


def test_a_killed_worker_gives_its_message_back():
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1


@pytest.mark.parametrize("service", ["worker", "worker-benchmark"])
def test_docker_waits_for_a_warm_shutdown_longer_than_any_task_may_run(service):
    compose = yaml.safe_load(COMPOSE.read_text())
    grace = seconds(compose["services"][service]["stop_grace_period"])
    longest_soft = max(task.soft_time_limit for task in bank_tasks())
    assert grace > longest_soft
