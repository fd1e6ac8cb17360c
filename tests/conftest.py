"""Fixtures shared by the whole suite.

The default run needs nothing but Python: SQLite, eager Celery tasks and a private media folder
in a temporary directory. Tests that need PostgreSQL, Redis, the S3 server or ../shared/data use
`require_service`, which skips with a reason, or fails when REQUIRE_SERVICES=1 (as in CI).
"""

import importlib
import os
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps as django_apps
from django.core.cache import cache

from config.celery import app as celery_app

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def require_service(available: bool, reason: str) -> None:
    if available:
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def _use_local_storage(settings) -> None:
    settings.USE_S3 = False
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(settings.MEDIA_ROOT)},
        },
    }


@pytest.fixture(autouse=True)
def _isolated_files_and_eager_tasks(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    if not settings.USE_S3:
        _use_local_storage(settings)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # An empty cache for each test: sign-in failure counts (django-axes keeps them in the cache,
    # through a handler that holds the cache object) and throttles must not carry over from one
    # test to the next. On Redis this empties the test database's Redis db before the test starts
    # (a real worker, when a test starts one, starts after this).
    cache.clear()
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def local_storage(settings) -> Path:
    """The private local folder as storage even in a run configured for S3: for tests that look
    at files on disk or at responses streamed from it. Returns the folder."""
    _use_local_storage(settings)
    return Path(settings.MEDIA_ROOT)


# The data migrations whose rows the tests on a live server need, all idempotent: a flush ends
# every transactional test and removes them. (Serialized rollback would put them back too, but
# mixed with plain transactional tests it leaves content types and permissions clashing or gone.)
_DATA_MIGRATIONS = (
    ("access_requests.migrations.0001_access", "add_default_agreement"),
    ("curation.migrations.0004_default_eligibility_items", "add_items"),
    ("curation.migrations.0006_releases", "add_labels"),
)


@pytest.fixture
def published_releases_live(transactional_db):
    """For tests on a live server (transactional) that publish a release version.

    The rows the data migrations add (the default agreement, the eligibility checklist, the
    label definitions) are put back first: an earlier transactional test's flush removed them.

    The flush that ends a transactional test deletes every row; on SQLite the triggers that keep a
    published version read-only refuse that DELETE (PostgreSQL's TRUNCATE fires no row trigger),
    so the flush is done here with them lifted, then they are put back. The flush also removes
    the default data use agreement that migration access_requests 0001 adds: it is put back
    first, for tests that run after another transactional test."""
    from django.core.management import call_command
    from django.db import connection

    from curation import release_triggers

    for module, function in _DATA_MIGRATIONS:
        getattr(importlib.import_module(module), function)(django_apps, None)
    yield
    if connection.vendor != "sqlite":
        return
    with connection.schema_editor() as editor:
        release_triggers.uninstall(editor)
    try:
        call_command("flush", interactive=False, verbosity=0)
    finally:
        with connection.schema_editor() as editor:
            release_triggers.install(editor)


@pytest.fixture
def site():
    """A contributing site (tests of one site's cases)."""
    from tests.factories import make_site

    return make_site()


@pytest.fixture
def contributor(site):
    """A contributor of `site`."""
    from tests.factories import make_contributor

    return make_contributor(site)


@pytest.fixture
def admin_user(db, django_user_model):
    """pytest-django's superuser, with the second factor every superuser must have set up."""
    user = django_user_model.objects.create_superuser("admin@example.org", "password")
    TOTP.activate(user, generate_totp_secret())
    return user
