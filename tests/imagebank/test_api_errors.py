"""What the API answers to bad input, and what its schema says about it: query parameters
validated like bodies (no 500 for an id SQLite cannot hold), JSON 404s everywhere under /api/,
409 for an illegal transition, every error status documented with its body, blank coded fields
declared, and file uploads advertised as multipart only. The schemathesis run
(test_api_schema.py) finds such things; these tests pin each one down."""

import pytest
from rest_framework.test import APIClient

from imagebank.api.filters import MAX_ID
from imagebank.lifecycle import CaseState
from imagebank.services import cases as case_services
from tests.factories import add_core_images, make_case, make_user_with_role
from tests.roles import Role

CASES = "/api/cases/"

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


# --- query parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "99999999999999999999",  # past SQLite's INTEGER: an OverflowError (a 500) before
        str(MAX_ID + 1),
        "²",  # a digit to str.isdigit(), not to int()
        "abc",
        "0",
        "-3",
        "1.5",
        "",
    ],
)
def test_a_bad_site_filter_is_a_400_naming_it(contributor, value):
    response = client_for(contributor).get(CASES, {"site": value})
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["site"]


def test_the_largest_id_is_a_valid_filter_that_finds_nothing(site, contributor):
    make_case(site=site, actor=contributor)
    response = client_for(contributor).get(CASES, {"site": MAX_ID})
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert client_for(contributor).get(CASES, {"site": site.pk}).json()["count"] == 1


@pytest.mark.parametrize(
    "query, field",
    [
        ({"state": "lost"}, "state"),
        ({"state": ""}, "state"),
        ({"search": "x" * 101}, "search"),
        ({"search": "a\x00b"}, "search"),
        ({"source_reference": "x" * 101}, "source_reference"),
        ({"sitee": "1"}, "sitee"),  # a misspelt filter is not silently ignored
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": ""}, "page"),
    ],
)
def test_bad_or_unknown_list_parameters_are_a_400_naming_them(contributor, query, field):
    response = client_for(contributor).get(CASES, query)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_parameter_given_twice_is_refused(contributor, site):
    response = client_for(contributor).get(f"{CASES}?site={site.pk}&site=2")
    assert response.status_code == 400
    assert list(response.json()) == ["site"]


@pytest.mark.parametrize("url", ["/api/sites/", "/api/ingest/"])
def test_lists_without_filters_refuse_unknown_parameters_too(contributor, url):
    client = client_for(contributor)
    assert client.get(url).status_code == 200
    assert client.get(url, {"page": 1, "format": "json"}).status_code == 200
    response = client.get(url, {"site": 1})
    assert response.status_code == 400
    assert list(response.json()) == ["site"]


def test_a_page_past_the_last_is_a_json_404(contributor):
    response = client_for(contributor).get(CASES, {"page": 2})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_valid_filters_still_filter(site, contributor):
    case = make_case(site=site, actor=contributor, source_reference="Case  002")
    client = client_for(contributor)
    found = client.get(CASES, {"site": site.pk, "state": "draft", "search": " 002 "}).json()
    assert [c["id"] for c in found["results"]] == [case.pk]
    exact = client.get(CASES, {"source_reference": "case 002"}).json()
    assert [c["id"] for c in exact["results"]] == [case.pk]
    assert client.get(CASES, {"state": "accepted"}).json()["count"] == 0


# --- JSON 404s under /api/ -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/cases/abc/",  # reaches the view: DRF's 404
        "/api/cases/1.5/",  # matches no route: the root URL conf's handler404
        "/api/cases/99999999999999999999/",
        "/api/images/%C2%B2/",
        "/api/no-such-thing/",
        "/api/cases/1/no-such-action/",
    ],
)
def test_an_unknown_api_path_or_id_is_a_json_404(contributor, path):
    response = client_for(contributor).get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_a_page_outside_the_api_keeps_the_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- 409 for an illegal transition -----------------------------------------------------------


def test_submitting_a_case_that_is_no_longer_a_draft_is_a_409(site, contributor):
    case = make_case(site=site, actor=contributor)
    add_core_images(case, contributor)
    client = client_for(contributor)
    assert client.post(f"{CASES}{case.pk}/submit/").status_code == 200
    again = client.post(f"{CASES}{case.pk}/submit/")
    assert again.status_code == 409
    assert set(again.json()) == {"detail"}
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED

    # Someone who may see the case but not contribute to it is refused, whatever its state.
    reviewer = make_user_with_role(Role.REVIEWER)
    assert client_for(reviewer).post(f"{CASES}{case.pk}/submit/").status_code == 403
    # Editing a submitted case stays a 403 (not allowed to you in this state), as documented.
    edit = client.patch(f"{CASES}{case.pk}/", {"notes": "late"}, format="json")
    assert edit.status_code == 403


# --- the schema ------------------------------------------------------------------------------


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def _deref(schema, node):
    if "$ref" in node:
        target = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _deref(schema, target)
    return node


def _allowed_values(schema, node) -> set:
    node = _deref(schema, node)
    values = set(node.get("enum", []))
    for key in ("oneOf", "anyOf", "allOf"):
        for part in node.get(key, []):
            values |= _allowed_values(schema, part)
    return values


def test_every_operation_documents_its_errors_with_a_json_body(schema):
    checked = 0
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        if path.startswith("/api/cases") or path.startswith("/api/images"):
            assert {"401", "403"} <= set(responses), (method, path)
        if "{id}" in path:
            assert "404" in responses, (method, path)
        if method in {"post", "put", "patch"}:
            assert "400" in responses, (method, path)
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                assert list(response["content"]) == ["application/json"], (method, path, code)
                assert response["description"], (method, path, code)
        checked += 1
    assert checked >= 17
    list_cases = schema["paths"]["/api/cases/"]["get"]["responses"]
    assert {"400", "401", "403", "404"} <= set(list_cases)  # 404: a page past the last
    submit = schema["paths"]["/api/cases/{id}/submit/"]["post"]["responses"]
    assert "409" in submit
    error = _deref(schema, submit["409"]["content"]["application/json"]["schema"])
    assert error["required"] == ["detail"]
    invalid = _deref(schema, list_cases["400"]["content"]["application/json"]["schema"])
    assert invalid["type"] == "object" and "additionalProperties" in invalid


def test_the_case_list_parameters_are_documented_with_their_bounds(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/cases/"]["get"]["parameters"]}
    assert set(parameters) == {"page", "site", "state", "search", "source_reference"}
    site = parameters["site"]["schema"]
    assert (site["type"], site["minimum"], site["maximum"]) == ("integer", 1, MAX_ID)
    assert parameters["page"]["schema"]["minimum"] == 1
    assert set(_allowed_values(schema, parameters["state"]["schema"])) == set(CaseState.values)
    assert parameters["search"]["schema"]["maxLength"] == 100


def test_blank_coded_fields_are_declared_and_answered_as_blank(schema, site, contributor):
    case_schema = schema["components"]["schemas"]["Case"]["properties"]
    for field in ("hpv_result", "cytology", "adequacy", "via_result", "swede_margins"):
        assert "" in _allowed_values(schema, case_schema[field]), field
    # The answer keeps its shape: a field not given is "", never null or missing.
    case = make_case(site=site, actor=contributor, hpv_result="")
    body = client_for(contributor).get(f"{CASES}{case.pk}/").json()
    assert body["hpv_result"] == ""
    assert body["adequacy"] == "adequate"


def test_file_uploads_are_multipart_only(schema):
    paths = schema["paths"]
    assert list(paths["/api/ingest/"]["post"]["requestBody"]["content"]) == ["multipart/form-data"]
    assert list(paths["/api/cases/{id}/images/"]["post"]["requestBody"]["content"]) == [
        "multipart/form-data"
    ]
    assert list(paths["/api/ingest/known/"]["post"]["requestBody"]["content"]) == [
        "application/json"
    ]


def test_an_import_sent_as_json_is_a_415(contributor, site):
    response = client_for(contributor).post(
        "/api/ingest/", {"site": site.pk, "file": "not a file"}, format="json"
    )
    assert response.status_code == 415
    assert "detail" in response.json()


def test_a_submitted_case_with_blank_fields_matches_its_schema_in_the_list(
    site, contributor, schema
):
    """The list answers cases with blank coded fields; every coded value is one the schema
    allows (the check schemathesis made 110 times over)."""
    case = make_case(site=site, actor=contributor)
    add_core_images(case, contributor)
    case_services.submit_case(case=case, actor=contributor)
    case_schema = schema["components"]["schemas"]["Case"]["properties"]
    listed = client_for(contributor).get(CASES).json()["results"]
    assert listed
    for answer in listed:
        for field, value in answer.items():
            allowed = _allowed_values(schema, case_schema[field])
            if allowed:
                assert value in allowed, (field, value)
