"""Who may reach what: every page, API endpoint and file URL of releases, access requests, grants
and downloads, asked by every kind of visitor, compared with one table.

The visitors: an anonymous one; the grant's named accessor (signed), a second named accessor who
has not signed, the group's PI (not named), a member of the group who is not named, a researcher
of another group (with a grant of their own on another release), a committee member, a curator,
a reviewer, a contributor, a signed-in user with no role; API tokens of the accessor and of the
member not named. Then the same accessor, token and URLs once the grant has expired, and once a
grant has been revoked.

Each cell says what the answer must be: "ok" (200), "login" (sent to sign in), 401, 403, 404,
405, "acts" for a form posted with nothing in it by someone allowed to post it (answered, not
refused: the form comes back with its errors or a message), or "moved" (302 elsewhere than the
sign-in page: a signed URL on object storage).

Every URL name of access_requests, of its API, and of the release pages and API must have a row:
a page added without one fails `test_every_url_has_a_row`. The table is checked in one test, on
one real small release, so that every mismatch is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from access_requests.lifecycle import GrantState, RequestState
from access_requests.models import (
    AccessRequest,
    CommitteeReview,
    DataUseAgreement,
    Grant,
    GroupInvitation,
    GroupMember,
    RequestMessage,
    ResearchGroup,
)
from access_requests.services import grants as grant_services
from access_requests.services import groups as group_services
from curation.models import ReleaseImage
from curation.services import releases
from tests.access_requests.test_requests import (
    GOOD_SCORES,
    add_member,
    approved_request,
    draft_request,
    make_group,
    submitted_request,
)
from tests.curation.test_release_build import bank, build, curator  # noqa: F401 (fixtures)
from tests.factories import UserFactory, make_contributor, make_site, make_user_with_role
from tests.roles import Role
from tests.tokens import token_for
from tests.totp import with_totp

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

# The visitors, in the table's column order.
VISITORS = (
    "anonymous",
    "accessor",
    "unsigned",
    "pi",
    "member",
    "other",
    "committee",
    "curator",
    "reviewer",
    "contributor",
    "nobody",
    "invitee",
    "token",
    "member-token",
)
# The URL names the table covers: every name of these namespaces, and these names of curation's.
NAMESPACES = ("access_requests", "access_requests_api")
RELEASE_NAMES = {
    "curation": (
        "release-catalogue",
        "release-version",
        "release-datasheet",
        "release-datasheet-md",
        "release-admin",
        "release-define",
        "release-manage",
        "release-preview",
        "release-build",
        "release-publish",
    ),
    "curation_api": ("release-list", "release-detail"),
}


@dataclass(frozen=True)
class Row:
    name: str  # namespaced URL name
    method: str
    args: tuple  # keys of the scenario, or literal values
    expect: dict  # visitor -> expected; "*" for the others
    data: dict | None = None  # posted by those to be refused (an allowed visitor posts nothing)

    def expected(self, visitor: str) -> str:
        return self.expect.get(visitor, self.expect["*"])


def only(allowed: str = "ok", *visitors: str, anonymous: str = "login", tokens=None, **others):
    """A row's expectations: `allowed` for the visitors named, `others` as given, the sign-in
    page for the anonymous visitor, `tokens` (default: like the anonymous visitor, since a page
    ignores API tokens) for the two tokens, 403 for everyone else unless `others` says "*"."""
    table = {"*": others.pop("rest", "403"), "anonymous": anonymous}
    table.update(dict.fromkeys(visitors, allowed))
    table.update(others)
    table.setdefault("token", tokens or anonymous)
    table.setdefault("member-token", tokens or anonymous)
    return table


RESEARCHERS = ("accessor", "unsigned", "pi", "member", "other")
GROUP = ("accessor", "unsigned", "pi", "member")
OVERSIGHT = ("committee", "curator")
NOT_PI = ("accessor", "unsigned", "member", "committee", "curator")
EVERYONE = RESEARCHERS + OVERSIGHT + ("reviewer", "contributor", "nobody", "invitee")

REVIEW = {
    **{f"score_{name}": "4" for name in GOOD_SCORES},
    "vote": "approve",
    "reason": "Sound project.",
    "internal_note": "",
}

ROWS = (
    # --- research groups ---
    Row("access_requests:group-list", "GET", (), only("ok", *RESEARCHERS)),
    # Creating a group takes the researcher role; being a member of one does not give it.
    Row("access_requests:group-new", "GET", (), only("ok", "pi", "other")),
    # The committee and curators read a group's members (who are they granting to?).
    Row(
        "access_requests:group-detail",
        "GET",
        ("group",),
        only("ok", *GROUP, *OVERSIGHT, rest="404"),
    ),
    Row(
        "access_requests:group-invite",
        "POST",
        ("group",),
        only(
            "acts",
            "pi",
            rest="404",
            accessor="403",
            unsigned="403",
            member="403",
            committee="403",
            curator="403",
        ),
        data={"email": "someone@example.org"},
    ),
    # An invitation is the PI's to withdraw (the PI withdraws a second one, the others post to
    # withdraw the first); to anyone else it does not exist.
    Row(
        "access_requests:invitation-withdraw",
        "POST",
        ("group", "withdrawn"),
        only("acts", "pi", rest="404"),
    ),
    Row("access_requests:agreement-sign", "GET", ("group",), only("ok", *GROUP, rest="404")),
    # Only the PI removes a member (the PI removes "leaver", the others try to remove "member")
    # and hands the group over; the committee and curators read the group but do neither.
    Row(
        "access_requests:member-remove",
        "GET",
        ("group", "leaver"),
        only("ok", "pi", rest="404", **dict.fromkeys(NOT_PI, "403")),
    ),
    Row(
        "access_requests:member-remove",
        "POST",
        ("group", "leaver"),
        only("acts", "pi", rest="404", **dict.fromkeys(NOT_PI, "403")),
    ),
    Row(
        "access_requests:group-transfer-pi",
        "POST",
        ("group",),
        only("acts", "pi", rest="404", **dict.fromkeys(NOT_PI, "403")),
        data={"new_pi": "@member_id", "confirm": "on"},
    ),
    # The agreement's versions: for those who sign it and those who publish it.
    Row("access_requests:agreement-list", "GET", (), only("ok", *RESEARCHERS, *OVERSIGHT)),
    Row(
        "access_requests:agreement-publish",
        "POST",
        (),
        only("acts", *OVERSIGHT),
        data={"title": "Data use agreement", "text": "A new text nobody approved."},
    ),
    # An invitation's link is its capability: whoever signed in holds it sees the page (only the
    # invited address can accept: tests/access_requests/test_groups.py); a token that does not
    # exist, or no longer works, is 404 (below, with a made-up token).
    Row("access_requests:invitation-accept", "GET", ("invitation_token",), only("ok", *EVERYONE)),
    Row("access_requests:invitation-accept", "GET", ("made-up-token",), only("404", *EVERYONE)),
    # --- access requests ---
    Row("access_requests:request-list", "GET", (), only("ok", *RESEARCHERS)),
    Row("access_requests:request-new", "GET", (), only("ok", *RESEARCHERS)),
    Row("access_requests:request-detail", "GET", ("request",), only("ok", *GROUP, rest="404")),
    # The draft is the unsigned accessor's: the group's other members read it, only its
    # requester edits and submits it (and, not having signed, cannot submit it yet).
    Row(
        "access_requests:request-edit",
        "GET",
        ("draft",),
        only("ok", "unsigned", "pi", rest="404", accessor="403", member="403"),
    ),
    Row(
        "access_requests:request-submit",
        "POST",
        ("draft",),
        only("acts", "unsigned", rest="404", accessor="403", pi="403", member="403"),
    ),
    Row(
        "access_requests:request-message",
        "POST",
        ("request",),
        only("acts", *GROUP, rest="404"),
        data={"text": "May we have the masks too?"},
    ),
    Row(
        "access_requests:request-ethics-document",
        "GET",
        ("request",),
        only("ok", *GROUP, *OVERSIGHT, rest="404"),
    ),
    # --- grants ---
    Row(
        "access_requests:grant-detail",
        "GET",
        ("grant",),
        only("ok", *GROUP, *OVERSIGHT, rest="404"),
    ),
    # Renewing and closing are the PI's; those who see the grant are refused (403), the others
    # do not see it (404).
    Row(
        "access_requests:grant-renew",
        "POST",
        ("grant",),
        only("acts", "pi", rest="404", **dict.fromkeys(NOT_PI + OVERSIGHT, "403")),
        data={"progress_report": "Half done.", "publications": "None yet."},
    ),
    Row(
        "access_requests:grant-close",
        "POST",
        ("grant",),
        only("acts", "pi", rest="404", **dict.fromkeys(NOT_PI + OVERSIGHT, "403")),
        data={"destroyed_confirmed": "on"},
    ),
    # Revoking is for the committee and curators: the others are refused before any lookup.
    Row(
        "access_requests:grant-revoke",
        "POST",
        ("grant",),
        only("acts", *OVERSIGHT),
        data={"reason": "A breach of the agreement."},
    ),
    # --- the committee ---
    Row("access_requests:committee-queue", "GET", (), only("ok", *OVERSIGHT)),
    Row("access_requests:committee-request", "GET", ("submitted",), only("ok", *OVERSIGHT)),
    Row(
        "access_requests:committee-review",
        "POST",
        ("submitted",),
        only("acts", "committee"),
        data=REVIEW,
    ),
    Row(
        "access_requests:committee-message",
        "POST",
        ("submitted",),
        only("acts", "committee"),
        data={"text": "Please describe the encryption."},
    ),
    # --- downloads: the named accessor who signed, by session or token; nobody else ---
    *(
        Row(
            f"access_requests:{name}",
            "GET",
            ("grant", "slug", "version", *extra),
            only(
                "ok",
                "accessor",
                "token",
                unsigned="403",
                rest="404",
                tokens="404",
                token="ok",
            ),
        )
        for name, extra in (
            ("download-archive", ()),
            ("download-manifest", ()),
            ("download-file", ("image_path",)),
            ("download-file", ("AGREEMENT.txt",)),
        )
    ),
    # The log: the committee and curators every row, the group's members their own.
    Row(
        "access_requests:download-log",
        "GET",
        ("grant",),
        only("ok", *GROUP, *OVERSIGHT, rest="404"),
    ),
    # --- the API list of what one may download: everyone signed in gets their own list ---
    Row(
        "access_requests_api:downloads",
        "GET",
        (),
        only("ok", *EVERYONE, "token", "member-token", anonymous="401"),
    ),
    # --- the public release catalogue and the curators' release pages ---
    Row("curation:release-catalogue", "GET", (), {"*": "ok"}),
    Row("curation:release-version", "GET", ("slug", "version"), {"*": "ok"}),
    Row("curation:release-datasheet", "GET", ("slug", "version"), {"*": "ok"}),
    Row("curation:release-datasheet-md", "GET", ("slug", "version"), {"*": "ok"}),
    Row("curation_api:release-list", "GET", (), {"*": "ok"}),
    Row("curation_api:release-detail", "GET", ("slug", "version"), {"*": "ok"}),
    Row("curation:release-admin", "GET", (), only("ok", "curator")),
    Row("curation:release-define", "GET", ("slug",), only("ok", "curator")),
    Row("curation:release-manage", "GET", ("slug", "version"), only("ok", "curator")),
    *(
        Row(f"curation:{name}", "POST", ("slug", "version"), only("acts", "curator"))
        for name in ("release-preview", "release-build", "release-publish")
    ),
)


def _names_of(patterns, prefix="") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            space = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names |= _names_of(pattern.url_patterns, space)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(prefix + pattern.name)
    return names


def test_every_url_has_a_row():
    every = _names_of(get_resolver().url_patterns)
    wanted = {name for name in every if name.split(":")[0] in NAMESPACES}
    wanted |= {f"{space}:{name}" for space, names in RELEASE_NAMES.items() for name in names}
    assert wanted <= every, sorted(wanted - every)  # the names of RELEASE_NAMES exist
    covered = {row.name for row in ROWS}
    assert not wanted - covered, f"URLs with no row in the table: {sorted(wanted - covered)}"


# --- the scenario -------------------------------------------------------------------------------


def _committee():
    user = make_user_with_role(Role.ACCESS_COMMITTEE)
    with_totp(user)
    return user


@pytest.fixture
def scenario(bank, curator):  # noqa: F811 (the imported fixtures)
    """A published release granted to a group's accessor; the group's PI, an unsigned accessor
    and a member not named; another group with its own grant on another release; a draft and a
    submitted request of the group; an open invitation; one user per other role."""
    with_totp(curator)
    version = releases.publish(build(curator), actor=curator)
    pi = make_user_with_role(Role.RESEARCHER)
    group = make_group(pi=pi)
    accessor, unsigned, member = add_member(group), add_member(group), add_member(group)
    leaver = add_member(group)
    request = approved_request(
        group=group,
        requester=accessor,
        releases=[version],
        accessors=[accessor, unsigned],
    )
    draft = draft_request(group=group, requester=unsigned, releases=[version])
    submitted = submitted_request(group=group, requester=pi, releases=[version])
    invitation, invitation_token = group_services.invite_member(
        group=group, actor=pi, email="invited@example.org"
    )
    withdrawn, _ = group_services.invite_member(group=group, actor=pi, email="later@example.org")

    other = make_user_with_role(Role.RESEARCHER)
    other_group = make_group(pi=other)
    other_version = releases.publish(build(curator, slug="lugol"), actor=curator)
    approved_request(group=other_group, requester=other, releases=[other_version])

    grant = request.grant
    return {
        "users": {
            "accessor": accessor,
            "unsigned": unsigned,
            "pi": pi,
            "member": member,
            "other": other,
            "committee": _committee(),
            "curator": curator,
            "reviewer": make_user_with_role(Role.REVIEWER),
            "contributor": make_contributor(make_site("matrix-clinic")),
            "nobody": UserFactory(),
            "invitee": UserFactory(email="invited@example.org"),
        },
        "tokens": {"token": token_for(accessor), "member-token": token_for(member)},
        "values": {
            "group": group.pk,
            "invitation": invitation.pk,
            "withdrawn": withdrawn.pk,
            "leaver": leaver.pk,
            "member_id": member.pk,
            "invitation_token": invitation_token,
            "request": request.pk,
            "draft": draft.pk,
            "submitted": submitted.pk,
            "grant": grant.pk,
            "slug": version.release.slug,
            "version": version.version,
            "image_path": ReleaseImage.objects.filter(version=version).values_list(
                "path", flat=True
            )[0],
        },
        "grant": grant,
        "version": version,
    }


def _client(scenario, visitor: str) -> tuple[Client, dict]:
    # A server error is an answer of the table too (500), not an exception that stops it.
    client = Client(raise_request_exception=False)
    user = scenario["users"].get(visitor)
    if user is not None:
        client.force_login(user)
    token = scenario["tokens"].get(visitor)
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    return client, headers


def _url(row: Row, values: dict) -> str:
    return reverse(row.name, args=[values.get(arg, arg) for arg in row.args])


def _data(row: Row, values: dict) -> dict:
    """The row's form, "@name" standing for the scenario's value `name`."""
    return {
        key: values[value[1:]] if isinstance(value, str) and value.startswith("@") else value
        for key, value in (row.data or {}).items()
    }


def _answer(response, method: str) -> str:
    status = response.status_code
    if status in (301, 302, 303):
        if response["Location"].startswith(reverse("account_login")):
            return "login"
        return "acts" if method == "POST" else "moved"
    if status in (200, 206):
        return "acts" if method == "POST" else "ok"
    if method == "POST" and status == 400:
        return "acts"  # a form with its errors
    return str(status)


def _ask(scenario, row: Row, visitor: str) -> str:
    client, headers = _client(scenario, visitor)
    url = _url(row, scenario["values"])
    if row.method == "POST":
        # Those to be refused post a valid form, so a refusal is not a form's error; those
        # allowed post an empty one, which changes nothing.
        data = {} if row.expected(visitor) == "acts" else _data(row, scenario["values"])
        response = client.post(url, data, **headers)
    else:
        response = client.get(url, **headers)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)  # every byte, as a client would read it
    return _answer(response, row.method)


def _mismatches(scenario, rows, visitors) -> list[str]:
    found = []
    for row in rows:
        for visitor in visitors:
            got = _ask(scenario, row, visitor)
            if got != row.expected(visitor):
                found.append(
                    f"{row.method} {row.name} {row.args} as {visitor}: got {got}, "
                    f"expected {row.expected(visitor)}"
                )
    return found


GRANT_PAGES = ("access_requests:grant-detail", "access_requests:download-log")
DOWNLOAD_URLS = tuple(
    row
    for row in ROWS
    if row.name
    in (
        "access_requests:download-archive",
        "access_requests:download-manifest",
        "access_requests:download-file",
    )
)


def test_every_visitor_gets_exactly_what_the_table_says(scenario):
    values = scenario["values"]
    grant = scenario["grant"]
    request_state = AccessRequest.objects.get(pk=values["request"]).state
    expires_at, pi = grant.expires_at, scenario["users"]["pi"]
    mismatches = _mismatches(scenario, ROWS, VISITORS)
    assert not mismatches, "\n".join(mismatches)
    # Nothing posted above with an empty form changed anything.
    grant.refresh_from_db()
    assert grant.state == GrantState.ACTIVE and grant.expires_at == expires_at
    group = ResearchGroup.objects.get(pk=values["group"])
    assert group.principal_investigator_id == pi.pk
    members = set(GroupMember.objects.filter(group=group).values_list("user_id", flat=True))
    assert values["leaver"] not in members  # removed by the PI, the one allowed to
    assert values["member_id"] in members
    assert DataUseAgreement.objects.count() == 1
    assert AccessRequest.objects.get(pk=scenario["values"]["draft"]).state == RequestState.DRAFT
    assert (
        AccessRequest.objects.get(pk=scenario["values"]["submitted"]).state
        == RequestState.SUBMITTED
    )
    assert AccessRequest.objects.get(pk=scenario["values"]["request"]).state == request_state
    invitations = GroupInvitation.objects.order_by("pk")
    assert [(row.pk, row.accepted_at, row.withdrawn_at is None) for row in invitations] == [
        (scenario["values"]["invitation"], None, True),
        (scenario["values"]["withdrawn"], None, False),  # by the PI, the one allowed to
    ]
    assert not RequestMessage.objects.exists()
    assert not CommitteeReview.objects.filter(request_id=scenario["values"]["submitted"]).exists()


@pytest.mark.parametrize("end", ["expired", "revoked"])
def test_once_the_grant_ends_its_accessor_and_token_get_nothing(scenario, end):
    grant: Grant = scenario["grant"]
    if end == "expired":
        Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())
        assert grant_services.expire_grants() == 1
    else:
        grant_services.revoke_grant(grant, actor=scenario["users"]["committee"], reason="Breach.")
    ended = tuple(Row(row.name, row.method, row.args, {"*": "404"}) for row in DOWNLOAD_URLS)
    mismatches = _mismatches(scenario, ended, ("accessor", "unsigned", "token", "pi"))
    # The grant's page still tells its group and the committee what happened to it.
    pages = tuple(row for row in ROWS if row.name in GRANT_PAGES and row.method == "GET")
    assert len(pages) == len(GRANT_PAGES)
    mismatches += _mismatches(scenario, pages, VISITORS)
    assert not mismatches, "\n".join(mismatches)
    for visitor in ("accessor", "token"):
        client, headers = _client(scenario, visitor)
        listed = client.get(reverse("access_requests_api:downloads"), **headers)
        assert listed.status_code == 200 and listed.json() == [], visitor
