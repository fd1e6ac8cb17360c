"""Settings from the environment: production passes Django's deploy checks, and refuses to start
without its keys. Each case runs manage.py in a fresh process, as a deployment would."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Variables a developer's or CI's shell may hold that would change what the settings read.
_CLEARED = (
    "DEBUG",
    "SECRET_KEY",
    "PSEUDONYM_KEY",
    "ALLOWED_HOSTS",
    "DATA_DIR",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
)


def manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in _CLEARED}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update({"DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )


def production(**extra: str) -> dict[str, str]:
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "bank.example.org",
        **extra,
    }


def test_production_settings_pass_the_deploy_checks_at_warning_level(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_pass_the_deploy_checks_at_error_level(tmp_path):
    # What the README promises: `check --deploy` passes with the production variables.
    result = manage(tmp_path, "check", "--deploy", **production())
    assert result.returncode == 0, result.stdout + result.stderr
    # The only deploy warning left is the opt-in HSTS preload.
    warnings = [line for line in result.stderr.splitlines() if "security.W" in line]
    assert all("security.W021" in line for line in warnings), warnings


def test_with_hsts_preload_every_deploy_check_passes(tmp_path):
    result = manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **production(SECURE_HSTS_PRELOAD="1"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PSEUDONYM_KEY"])
def test_production_refuses_to_start_without_its_keys(tmp_path, missing):
    env = production()
    del env[missing]
    result = manage(tmp_path, "check", **env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_debug_settings_start_without_keys(tmp_path):
    result = manage(tmp_path, "check", DEBUG="1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_are_strict(tmp_path):
    script = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS > 0, s.ALLOWED_HOSTS)"
    )
    result = manage(tmp_path, "shell", "-c", script, **production())
    assert result.returncode == 0, result.stderr
    assert "False True True True True ['bank.example.org']" in result.stdout.splitlines()


def test_models_and_migrations_agree(tmp_path):
    result = manage(tmp_path, "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_embedded_database_lets_a_second_process_write_while_one_holds_a_transaction(tmp_path):
    """The demo's web server and worker share one SQLite file. A worker transaction that reads,
    then writes while the web process is mid-import must wait its turn, not fail with "database
    is locked" (which left images pending for ever)."""
    script = """
import sys, time
import django
django.setup()
from django.db import transaction
from imagebank.models import Site
if sys.argv[1] == "hold":
    with transaction.atomic():
        Site.objects.filter(pk=-1).update(name="x")  # takes the write lock
        print("holding", flush=True)
        time.sleep(2)
else:
    with transaction.atomic():
        list(Site.objects.all()[:1])  # a read first, as a task that checks state does
        Site.objects.filter(pk=-1).update(name="y")
    print("wrote", flush=True)
"""
    env = {key: value for key, value in os.environ.items() if key not in _CLEARED}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(DATA_DIR=str(tmp_path / "data"), DJANGO_SETTINGS_MODULE="config.settings")
    env["DATABASE_URL"] = ""  # empty means the embedded SQLite default
    assert manage(tmp_path, "migrate", "--noinput", DATABASE_URL="").returncode == 0
    holder = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, "-c", script, "hold"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    writer = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-c", script, "write"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    holder.wait(timeout=60)
    assert writer.returncode == 0, writer.stderr[-2000:]
    assert writer.stdout.strip() == "wrote"
