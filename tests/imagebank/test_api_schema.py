"""The API against its own OpenAPI schema: schemathesis sends generated requests to every operation
of `/api/schema/`, for each role's token, through the WSGI application (no server).

What is checked of every answer: no 5xx; its status is documented for the operation; its content
type is the documented one; its body matches the documented schema. Generated data is positive
(what the schema allows) and negative (what it does not: the API must refuse it with a 4xx, never
a 500), with path ids both generated and taken from real rows, so answers with real bodies are
checked too.

The run is bounded and deterministic (Hypothesis derandomized, a fixed number of examples per
operation and mode, no example database), so CI on two cores stays well under two minutes. Each
role runs in its own test, hence in its own rolled-back transaction with its own fresh rows: what
one role's generated writes did is never seen by another.
"""

from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import GenerationConfig, SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from fixtures.synthetic_cervix import render_jpeg
from imagebank.ingest.runs import run_ingest
from imagebank.services import cases as case_services
from tests.factories import (
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role
from tests.tokens import token_for

# Per operation, per generation mode and per kind of path id: small, so the whole run stays short.
EXAMPLES = 5
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]
ROLES = [
    "anonymous",
    "contributor",
    "reviewer",
    "curator",
    "access_committee",
    "researcher",
    "superuser",
]
# Values that once reached the database unchecked, sent in every path and query parameter: past
# SQLite's INTEGER (an OverflowError), a digit that str.isdigit() accepts and int() refuses, a
# NUL, a negative number, and (in the query) nothing. The generated examples may miss them;
# these never do. (An empty path segment would be another URL: `/api/cases/` for a case id.)
HOSTILE_PATH_VALUES = ("99999999999999999999", "²", "\x00", "-1")
HOSTILE_QUERY_VALUES = (*HOSTILE_PATH_VALUES, "")
# Operations that remove what later operations read run last.
LAST = ("DELETE",)


@pytest.fixture(scope="module")
def wsgi_database_connection():
    """Django's test client keeps the test's connection open across requests; the bare WSGI
    handler would close it at the end of each request (and so end the test's transaction).
    Do as django.test.client.ClientHandler does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def api_schema(django_db_setup, django_db_blocker, wsgi_database_connection):
    """The schema as the application serves it, loaded once for every role."""
    with django_db_blocker.unblock():
        return schemathesis.openapi.from_wsgi(
            "/api/schema/?format=json", application, config=SchemathesisConfig()
        )


def _world(tmp_path: Path, role: str, admin_user):
    """Fresh rows for one role: a site with its contributor, a draft and a submitted case with
    processed images, and an import run. Returns the acting user (None for anonymous) and the
    real ids of each path template."""
    site = make_site()
    contributor = make_contributor(site)
    draft = make_case(site=site, actor=contributor)
    draft_images = add_core_images(draft, contributor)
    submitted = make_case(site=site, actor=contributor, hpv_result="")
    add_core_images(submitted, contributor, seed=1)
    case_services.submit_case(case=submitted, actor=contributor)
    upload = tmp_path / "exam.jpg"
    upload.write_bytes(render_jpeg("after_lugol", seed=7))
    run = run_ingest(site=site, actor=contributor, paths=[upload], source_name="exam.jpg")
    users = {
        "anonymous": None,
        "contributor": contributor,
        "reviewer": make_user_with_role(Role.REVIEWER),
        "curator": make_user_with_role(Role.CURATOR),
        "access_committee": make_user_with_role(Role.ACCESS_COMMITTEE),
        "researcher": make_user_with_role(Role.RESEARCHER),
        "superuser": admin_user,
    }
    ids = {
        "/api/sites/{id}/": [site.pk],
        "/api/cases/{id}/": [draft.pk, submitted.pk],
        "/api/cases/{id}/images/": [draft.pk, submitted.pk],
        "/api/cases/{id}/submit/": [draft.pk, submitted.pk],
        "/api/images/{id}/": [image.pk for image in draft_images],
        "/api/ingest/{id}/": [run.pk],
    }
    return users[role], ids


def _strategies(operation, real_ids):
    """(mode, strategy, checks) for one operation: positive and negative data with generated
    path ids, and positive data with the ids of real rows.

    Negative data must be refused where it is parameters (path and query: validated strictly,
    imagebank.api.filters). In a JSON body DRF's fields coerce on purpose (a number for a text
    field, "3" for an integer), so a negative body must only give no 5xx and a conforming answer.
    """
    yield "positive", operation.as_strategy(GenerationMode.POSITIVE), CHECKS
    negative_checks = CHECKS if len(operation.body) else NEGATIVE_CHECKS
    yield "negative", operation.as_strategy(GenerationMode.NEGATIVE), negative_checks
    if real_ids:
        real = st.sampled_from(real_ids).flatmap(
            lambda pk: operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"id": pk})
        )
        yield "real ids", real, CHECKS


def _hostile(operation, real_ids):
    """Each path and query parameter in turn given each hostile value, the others valid."""
    valid_path = {p.name: (real_ids or [1])[0] for p in operation.path_parameters}
    for parameter in operation.path_parameters:
        for value in HOSTILE_PATH_VALUES:
            yield operation.Case(path_parameters={**valid_path, parameter.name: value})
    for parameter in operation.query:
        for value in HOSTILE_QUERY_VALUES:
            yield operation.Case(path_parameters=valid_path, query={parameter.name: value})


def _coverage(api_schema, operation):
    """Schemathesis' coverage cases (boundaries of each parameter: just past a maximum, a wrong
    type, a missing value, ...) for operations without a body, whose parameters are few: all of
    them, deterministic. Bodies are left to the generated examples (their coverage runs to
    thousands of cases)."""
    if len(operation.body):
        return []
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return list(
        api_schema.iter_coverage_cases(
            operation, generation_modes=modes, generation_config=GenerationConfig(modes=modes)
        )
    )


def _send(case, checks, headers, failures: dict[str, str], statuses: Counter) -> None:
    response = case.call(headers=headers)
    statuses[response.status_code] += 1
    try:
        case.validate_response(response, checks=checks, headers=headers)
    except FailureGroup as group:
        for failure in group.exceptions:
            key = f"{case.operation.label}: {failure.title}"
            failures.setdefault(key, f"{key}\n{group.args[0]}")


def _run(operation, strategy, checks, headers, failures: dict[str, str], statuses) -> None:

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case):
        _send(case, checks, headers, failures, statuses)

    send()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_operation_keeps_to_the_schema(role, api_schema, tmp_path, admin_user):
    user, ids = _world(tmp_path, role, admin_user)
    headers = {"Authorization": f"Token {token_for(user)}"} if user is not None else {}
    cache.clear()  # throttle and sign-in counts of earlier tests
    operations = [result.ok() for result in api_schema.get_all_operations()]
    operations.sort(key=lambda operation: (operation.method.upper() in LAST, operation.label))
    # The token works (a refused token would make every answer a conforming 401).
    sites = api_schema["/api/sites/"]["GET"].Case().call(headers=headers)
    assert sites.status_code == (401 if user is None else 200), sites.text
    failures: dict[str, str] = {}
    statuses: Counter = Counter()
    for operation in operations:
        for _mode, strategy, checks in _strategies(operation, ids.get(operation.path)):
            _run(operation, strategy, checks, headers, failures, statuses)
        for case in _coverage(api_schema, operation):
            _send(case, NEGATIVE_CHECKS, headers, failures, statuses)
        for case in _hostile(operation, ids.get(operation.path)):
            _send(case, CHECKS, headers, failures, statuses)
    assert not failures, f"{len(failures)} findings for {role}:\n\n" + "\n\n".join(
        failures.values()
    )
    assert statuses.total() >= len(operations) * EXAMPLES * 2
    # Signed-in roles got real answers too, not only refusals (anonymous visitors get real
    # answers from the public release catalogue only; test_release_pages checks what it shows).
    if user is not None:
        assert sum(n for code, n in statuses.items() if code < 300) > 0
