"""The access pages (access_requests.views): each page for the roles it serves (200) and refused to
the others (403, 404, or the sign-in page for anonymous visitors); the forms create, invite,
accept, sign, request, submit, vote, message and revoke through the services (the state changes
are checked); the requester never reads an internal note or an individual vote; the ethics
approval is served to the committee, curators and the requesting group only; the navigation
offers the access pages per role."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from access_requests.lifecycle import GrantState, RequestState
from access_requests.models import (
    AccessRequest,
    AgreementSignature,
    CommitteeReview,
    DataUseAgreement,
    Grant,
    GroupInvitation,
    GroupMember,
    RequestMessage,
    ResearchGroup,
)
from access_requests.services import groups as group_services
from curation.models import ReleaseState
from tests.access_requests.test_requests import (
    GOOD_SCORES,
    add_member,
    approved_request,
    draft_request,
    make_group,
    pdf,
    published_version,
    submitted_request,
    vote,
)
from tests.factories import UserFactory, make_user_with_role
from tests.roles import Role
from tests.totp import with_totp

pytestmark = pytest.mark.django_db

INTERNAL_NOTE = "Internal: the last project of this PI leaked data."
VOTE_REASON = "Please describe the encryption of the laptops."


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


def researcher(**fields):
    return make_user_with_role(Role.RESEARCHER, **fields)


def committee(**fields):
    user = make_user_with_role(Role.ACCESS_COMMITTEE, **fields)
    with_totp(user)
    return user


def curator():
    user = make_user_with_role(Role.CURATOR)
    with_totp(user)
    return user


def group_of(pi):
    return make_group(pi=pi)


def review_form(choice="approve", reason="", note="", **scores):
    data = {f"score_{name}": str(value) for name, value in {**GOOD_SCORES, **scores}.items()}
    data.update({"vote": choice, "reason": reason, "internal_note": note})
    return data


# --- who reaches which page ---------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page():
    request = submitted_request()
    grant_request = approved_request()
    grant = Grant.objects.get(request=grant_request)
    urls = [
        reverse("access_requests:group-list"),
        reverse("access_requests:group-detail", args=[request.group_id]),
        reverse("access_requests:agreement-sign", args=[request.group_id]),
        reverse("access_requests:invitation-accept", args=["some-token"]),
        reverse("access_requests:request-list"),
        reverse("access_requests:request-new"),
        reverse("access_requests:request-detail", args=[request.pk]),
        reverse("access_requests:request-edit", args=[request.pk]),
        reverse("access_requests:request-ethics-document", args=[request.pk]),
        reverse("access_requests:grant-detail", args=[grant.pk]),
        reverse("access_requests:committee-queue"),
        reverse("access_requests:committee-request", args=[request.pk]),
    ]
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url
        assert "next=" in response["Location"], url


@pytest.mark.parametrize(
    "name", ["group-list", "request-list", "request-new", "committee-queue"], ids=str
)
def test_a_user_without_an_access_role_is_refused_the_list_pages(name):
    response = signed_in(UserFactory()).get(reverse(f"access_requests:{name}"))
    assert response.status_code == 403


def test_researchers_reach_their_pages_and_not_the_committees():
    user = researcher()
    client = signed_in(user)
    assert client.get(reverse("access_requests:group-list")).status_code == 200
    assert client.get(reverse("access_requests:request-list")).status_code == 200
    assert client.get(reverse("access_requests:committee-queue")).status_code == 403
    request = submitted_request(group_of(user))
    assert (
        client.get(reverse("access_requests:committee-request", args=[request.pk])).status_code
        == 403
    )


def test_a_group_page_is_for_its_members_the_committee_and_curators_only():
    pi = researcher()
    group = group_of(pi)
    member = add_member(group)
    url = reverse("access_requests:group-detail", args=[group.pk])
    for user in (pi, member, committee(), curator()):
        assert signed_in(user).get(url).status_code == 200
    outsider = researcher()
    assert signed_in(outsider).get(url).status_code == 404
    # The PI sees the invitation form; a member does not.
    assert 'name="email"' in html(signed_in(pi).get(url))
    assert 'name="email"' not in html(signed_in(member).get(url))


def test_a_request_page_is_for_the_group_and_hidden_from_others():
    request = submitted_request()
    url = reverse("access_requests:request-detail", args=[request.pk])
    assert signed_in(request.requester).get(url).status_code == 200
    member = add_member(request.group)
    assert signed_in(member).get(url).status_code == 200
    assert signed_in(researcher()).get(url).status_code == 404
    # Another group's member is refused its edit page and its submission too.
    other = researcher()
    assert (
        signed_in(other).get(reverse("access_requests:request-edit", args=[request.pk])).status_code
        == 404
    )


def test_the_committee_page_is_hidden_from_a_committee_member_of_the_requesting_group():
    request = submitted_request()
    member = committee()
    add_member(request.group, member)
    client = signed_in(member)
    assert (
        client.get(reverse("access_requests:committee-request", args=[request.pk])).status_code
        == 404
    )
    queue = html(client.get(reverse("access_requests:committee-queue")))
    assert 'data-may-vote="no"' in queue
    response = client.post(
        reverse("access_requests:committee-review", args=[request.pk]), review_form()
    )
    assert response.status_code == 404
    assert not CommitteeReview.objects.filter(request=request).exists()


def test_the_queue_lists_submitted_requests_oldest_first_and_says_who_may_vote():
    first = submitted_request()
    second = submitted_request()
    draft = draft_request(project_title="A draft nobody reviews yet")
    member = committee()
    page = html(signed_in(member).get(reverse("access_requests:committee-queue")))
    assert page.index(f'data-request="{first.pk}"') < page.index(f'data-request="{second.pk}"')
    assert f'data-request="{draft.pk}"' not in page
    assert 'data-may-vote="yes"' in page
    # Curators read the same queue without a vote.
    curator_page = html(signed_in(curator()).get(reverse("access_requests:committee-queue")))
    assert f'data-request="{first.pk}"' in curator_page
    assert 'data-may-vote="yes"' not in curator_page


def test_a_committee_member_without_two_factor_is_sent_to_set_it_up():
    member = make_user_with_role(Role.ACCESS_COMMITTEE)
    response = signed_in(member).get(reverse("access_requests:committee-queue"))
    assert response.status_code == 302
    assert "next=" in response["Location"]
    assert not response["Location"].startswith(reverse("access_requests:committee-queue"))


# --- groups, invitations, the agreement ---------------------------------------------------------


def test_a_researcher_creates_a_group_through_the_form():
    user = researcher()
    response = signed_in(user).post(
        reverse("access_requests:group-new"),
        {
            "name": "Screening AI",
            "institution": "University of Nairobi",
            "country": "ke",
            "kind": "academic",
            "signing_official_name": "A. Official",
            "signing_official_email": "official@example.org",
        },
    )
    group = ResearchGroup.objects.get(name="Screening AI")
    assert response.status_code == 302
    assert response["Location"] == reverse("access_requests:group-detail", args=[group.pk])
    assert group.country == "KE"
    assert group.principal_investigator == user
    assert GroupMember.objects.filter(group=group, user=user, role="pi").exists()


def test_the_group_form_shows_the_services_errors_on_their_fields():
    response = signed_in(researcher()).post(
        reverse("access_requests:group-new"),
        {
            "name": "Screening AI",
            "institution": "UoN",
            "country": "K1",
            "kind": "academic",
            "signing_official_name": "A. Official",
            "signing_official_email": "official@example.org",
        },
    )
    assert response.status_code == 400
    assert "Use the ISO 3166 two-letter code" in html(response)
    assert not ResearchGroup.objects.exists()


def test_a_member_who_joined_by_invitation_cannot_create_a_group():
    group = make_group()
    member = add_member(group)
    client = signed_in(member)
    assert client.get(reverse("access_requests:group-list")).status_code == 200
    response = client.post(reverse("access_requests:group-new"), {"name": "x"})
    assert response.status_code == 403


def test_the_pi_invites_withdraws_and_the_invitee_accepts(django_capture_on_commit_callbacks):
    pi = researcher()
    group = group_of(pi)
    client = signed_in(pi)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("access_requests:group-invite", args=[group.pk]),
            {"email": "new.member@example.org"},
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    token = re.search(r"/access/invitations/([^/\s]+)/", mail.outbox[0].body).group(1)
    assert reverse("access_requests:invitation-accept", args=[token]) in mail.outbox[0].body
    detail = html(client.get(reverse("access_requests:group-detail", args=[group.pk])))
    assert 'data-invitation="new.member@example.org"' in detail

    # A member who is not the PI cannot invite.
    member = add_member(group)
    refused = signed_in(member).post(
        reverse("access_requests:group-invite", args=[group.pk]), {"email": "x@example.org"}
    )
    assert refused.status_code == 403

    # Anonymous: the sign-in page, coming back to the link.
    accept_url = reverse("access_requests:invitation-accept", args=[token])
    anonymous = Client().get(accept_url)
    assert anonymous.status_code == 302 and "next=" in anonymous["Location"]

    invitee = UserFactory(email="new.member@example.org")
    invitee_client = signed_in(invitee)
    page = invitee_client.get(accept_url)
    assert page.status_code == 200 and group.name in html(page)
    assert not GroupMember.objects.filter(group=group, user=invitee).exists()  # GET writes nothing
    accepted = invitee_client.post(accept_url)
    assert accepted["Location"] == reverse("access_requests:group-detail", args=[group.pk])
    assert GroupMember.objects.filter(group=group, user=invitee, role="member").exists()
    # Used: the link is no longer valid.
    assert invitee_client.get(accept_url).status_code == 404


def test_a_withdrawn_invitation_no_longer_works():
    pi = researcher()
    group = group_of(pi)
    invitation, token = group_services.invite_member(
        group=group, actor=pi, email="late@example.org"
    )
    response = signed_in(pi).post(
        reverse("access_requests:invitation-withdraw", args=[group.pk, invitation.pk])
    )
    assert response.status_code == 302
    assert GroupInvitation.objects.get(pk=invitation.pk).withdrawn_at is not None
    invitee = UserFactory(email="late@example.org")
    accept_url = reverse("access_requests:invitation-accept", args=[token])
    signed_in(invitee).post(accept_url)
    assert not GroupMember.objects.filter(group=group, user=invitee).exists()


def test_an_invitation_for_another_address_is_refused():
    pi = researcher()
    group = group_of(pi)
    _invitation, token = group_services.invite_member(
        group=group, actor=pi, email="right@example.org"
    )
    wrong = UserFactory(email="wrong@example.org")
    client = signed_in(wrong)
    response = client.post(reverse("access_requests:invitation-accept", args=[token]), follow=True)
    assert "another e-mail address" in html(response)
    assert not GroupMember.objects.filter(group=group, user=wrong).exists()


def test_a_member_signs_the_agreement_with_their_typed_name_and_address():
    pi = researcher(full_name="Grace Wanjiru")
    group = group_of(pi)
    agreement = DataUseAgreement.objects.get(version=1)
    url = reverse("access_requests:agreement-sign", args=[group.pk])
    client = signed_in(pi)
    page = html(client.get(url))
    assert agreement.text.splitlines()[0][:40] in page
    assert f'data-agreement-version="{agreement.version}"' in page

    wrong = client.post(url, {"typed_name": "Someone Else"})
    assert wrong.status_code == 400
    assert not AgreementSignature.objects.exists()

    response = client.post(url, {"typed_name": "grace  wanjiru"}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302
    signature = AgreementSignature.objects.get(group=group, signer=pi)
    assert (signature.agreement, signature.typed_name, signature.ip_address) == (
        agreement,
        "grace wanjiru",
        "198.51.100.7",
    )
    assert signature.text_sha256 == agreement.sha256
    assert 'data-signed="yes"' in html(
        client.get(reverse("access_requests:group-detail", args=[group.pk]))
    )


def test_only_members_open_the_agreement_page_of_a_group():
    group = make_group()
    url = reverse("access_requests:agreement-sign", args=[group.pk])
    assert signed_in(researcher()).get(url).status_code == 404
    assert signed_in(committee()).get(url).status_code == 404


# --- requests ------------------------------------------------------------------------------------


def request_form_data(group, version, accessor, **overrides):
    data = {
        "group": str(group.pk),
        "releases": [str(version.pk)],
        "project_title": "Triage of VIA images",
        "aims": "Detect CIN2+.",
        "intended_use": "Train a classifier.",
        "ethics_committee": "KNH-UoN ERC",
        "ethics_number": "P123/2026",
        "ethics_expiry": "2099-01-01",
        "data_security": "Encrypted disks.",
        "accessors": [str(accessor.pk)],
        "ethics_document": pdf(),
    }
    data.update(overrides)
    return data


def test_the_request_form_creates_a_draft_then_the_requester_signs_and_submits():
    pi = researcher(full_name="Grace Wanjiru")
    group = group_of(pi)
    version = published_version()
    draft_version = published_version(state=ReleaseState.DRAFT)
    client = signed_in(pi)
    form = html(client.get(reverse("access_requests:request-new")))
    assert f'value="{version.pk}"' in form
    assert f'value="{draft_version.pk}"' not in form

    response = client.post(
        reverse("access_requests:request-new"), request_form_data(group, version, pi)
    )
    request = AccessRequest.objects.get(group=group)
    assert response["Location"] == reverse("access_requests:request-detail", args=[request.pk])
    assert request.state == RequestState.DRAFT
    assert list(request.releases.all()) == [version]
    assert request.ethics_document

    detail_url = reverse("access_requests:request-detail", args=[request.pk])
    detail = html(client.get(detail_url))
    assert reverse("access_requests:agreement-sign", args=[group.pk]) in detail
    assert reverse("access_requests:request-submit", args=[request.pk]) not in detail
    # Submitting unsigned is refused, saying why.
    refused = client.post(reverse("access_requests:request-submit", args=[request.pk]), follow=True)
    assert "Sign the current data use agreement" in html(refused)
    request.refresh_from_db()
    assert request.state == RequestState.DRAFT

    client.post(
        reverse("access_requests:agreement-sign", args=[group.pk]),
        {"typed_name": "Grace Wanjiru"},
    )
    assert reverse("access_requests:request-submit", args=[request.pk]) in html(
        client.get(detail_url)
    )
    client.post(reverse("access_requests:request-submit", args=[request.pk]))
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED
    assert request.signature.signer == pi
    # Submitted: no longer editable.
    edit = client.get(reverse("access_requests:request-edit", args=[request.pk]))
    assert edit.status_code == 302


def test_the_request_form_refuses_an_accessor_outside_the_group():
    pi = researcher()
    group = group_of(pi)
    other_group = make_group(pi=researcher())
    # Not a member of any of the PI's groups: not offered, so the form refuses them.
    stranger = add_member(other_group)
    response = signed_in(pi).post(
        reverse("access_requests:request-new"),
        request_form_data(group, published_version(), stranger),
    )
    assert response.status_code == 400
    assert not AccessRequest.objects.exists()


def test_a_member_of_two_groups_cannot_name_the_other_groups_member_as_accessor():
    pi = researcher()
    group = group_of(pi)
    second = make_group(pi=researcher())
    add_member(second, pi)
    someone = add_member(second)
    response = signed_in(pi).post(
        reverse("access_requests:request-new"),
        request_form_data(group, published_version(), someone),
    )
    assert response.status_code == 400
    assert "Every accessor must be a member of the group." in html(response)
    assert not AccessRequest.objects.filter(group=group).exists()


def test_the_requester_edits_a_draft_through_the_form():
    request = draft_request(project_title="Old title")
    requester = request.requester
    version = request.releases.get()
    response = signed_in(requester).post(
        reverse("access_requests:request-edit", args=[request.pk]),
        request_form_data(
            request.group, version, requester, project_title="New title", ethics_document=""
        ),
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.project_title == "New title"
    assert request.ethics_document  # kept when no new file is sent


def test_another_member_may_not_edit_the_requesters_draft():
    request = draft_request()
    member = add_member(request.group)
    response = signed_in(member).get(reverse("access_requests:request-edit", args=[request.pk]))
    assert response.status_code == 403


def test_the_requesting_group_writes_to_the_committee():
    request = submitted_request()
    response = signed_in(request.requester).post(
        reverse("access_requests:request-message", args=[request.pk]),
        {"text": "We added the encryption details."},
    )
    assert response.status_code == 302
    assert RequestMessage.objects.get(request=request).author == request.requester


# --- the committee -------------------------------------------------------------------------------


def test_two_votes_through_the_form_ask_for_changes_then_approve_after_resubmission():
    request = submitted_request()
    first, second = committee(full_name="Amina Odhiambo"), committee(full_name="Pedro Alves")
    url = reverse("access_requests:committee-review", args=[request.pk])
    # A request for changes without a reason is refused.
    signed_in(first).post(url, review_form("changes"))
    assert not CommitteeReview.objects.exists()
    signed_in(first).post(url, review_form("changes", reason=VOTE_REASON, note=INTERNAL_NOTE))
    signed_in(second).post(url, review_form("changes", reason=VOTE_REASON))
    request.refresh_from_db()
    assert request.state == RequestState.CHANGES_REQUESTED
    assert CommitteeReview.objects.get(member=first).internal_note == INTERNAL_NOTE

    # The requester reads the reason, never the internal note nor who voted what.
    client = signed_in(request.requester)
    page = html(client.get(reverse("access_requests:request-detail", args=[request.pk])))
    assert VOTE_REASON in page
    assert INTERNAL_NOTE not in page
    for member in (first, second):
        assert member.email not in page
        assert member.full_name not in page
    listing = html(client.get(reverse("access_requests:request-list")))
    assert INTERNAL_NOTE not in listing

    # The committee reads every review with its note and scores.
    committee_page = html(
        signed_in(second).get(reverse("access_requests:committee-request", args=[request.pk]))
    )
    assert INTERNAL_NOTE in committee_page
    assert first.full_name in committee_page

    # The requester's signature of the agreement in force still stands: resubmit.
    client.post(reverse("access_requests:request-submit", args=[request.pk]))
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED
    signed_in(first).post(url, review_form("approve"))
    signed_in(second).post(url, review_form("approve"))
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    grant = Grant.objects.get(request=request)
    assert reverse("access_requests:grant-detail", args=[grant.pk]) in html(
        client.get(reverse("access_requests:request-detail", args=[request.pk]))
    )


def test_the_review_form_shows_the_criteria_and_keeps_the_members_vote():
    request = submitted_request()
    member = committee()
    vote(request, member, "approve", internal_note="mine")
    page = html(
        signed_in(member).get(reverse("access_requests:committee-request", args=[request.pk]))
    )
    for label in ("Scientific merit", "Data security", "The group&#x27;s expertise", "Ethics"):
        assert label in page
    assert 'name="score_scientific_merit"' in page
    assert re.search(r'value="approve"[^>]*checked', page)
    assert "mine" in page


def test_curators_read_the_committee_page_without_voting_or_writing():
    request = submitted_request()
    vote(request, committee(), "changes", reason=VOTE_REASON, internal_note=INTERNAL_NOTE)
    user = curator()
    client = signed_in(user)
    page = html(client.get(reverse("access_requests:committee-request", args=[request.pk])))
    assert INTERNAL_NOTE in page
    assert 'name="score_ethics"' not in page
    assert reverse("access_requests:committee-message", args=[request.pk]) not in page
    response = client.post(
        reverse("access_requests:committee-review", args=[request.pk]), review_form()
    )
    assert response.status_code == 403
    assert CommitteeReview.objects.filter(request=request).count() == 1


def test_the_committee_writes_to_the_requester_who_reads_it():
    request = submitted_request()
    member = committee()
    signed_in(member).post(
        reverse("access_requests:committee-message", args=[request.pk]),
        {"text": "Which encryption do you use?"},
    )
    assert RequestMessage.objects.get(request=request).author == member
    page = html(
        signed_in(request.requester).get(
            reverse("access_requests:request-detail", args=[request.pk])
        )
    )
    assert "Which encryption do you use?" in page


def test_a_researcher_cannot_post_a_review_or_a_committee_message():
    request = submitted_request()
    client = signed_in(request.requester)
    assert (
        client.post(
            reverse("access_requests:committee-review", args=[request.pk]), review_form()
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("access_requests:committee-message", args=[request.pk]), {"text": "hi"}
        ).status_code
        == 403
    )


# --- the ethics approval -------------------------------------------------------------------------


@pytest.mark.usefixtures("local_storage")  # the bytes are streamed (S3 would redirect)
def test_the_ethics_approval_is_served_to_the_committee_curators_and_the_group_only():
    request = submitted_request()
    url = reverse("access_requests:request-ethics-document", args=[request.pk])
    member = add_member(request.group)
    for user in (request.requester, member, committee(), curator()):
        response = signed_in(user).get(url)
        assert response.status_code == 200, user
        assert b"".join(response.streaming_content).startswith(b"%PDF-")
        assert response["Content-Type"] == "application/pdf"
    for user in (researcher(), UserFactory()):
        assert signed_in(user).get(url).status_code == 404


def test_no_ethics_approval_uploaded_is_a_404():
    request = draft_request(ethics_document=None)
    url = reverse("access_requests:request-ethics-document", args=[request.pk])
    assert signed_in(request.requester).get(url).status_code == 404


# --- grants --------------------------------------------------------------------------------------


def test_the_grant_page_lists_its_versions_for_the_group_and_the_committee():
    request = approved_request()
    grant = Grant.objects.get(request=request)
    version = grant.releases.get()
    url = reverse("access_requests:grant-detail", args=[grant.pk])
    for user in (request.requester, committee(), curator()):
        page = signed_in(user).get(url)
        assert page.status_code == 200
        assert f'data-version="{version.release.slug}@{version.version}"' in html(page)
    assert signed_in(researcher()).get(url).status_code == 404
    listing = html(signed_in(request.requester).get(reverse("access_requests:request-list")))
    assert f'data-grant="{grant.pk}"' in listing
    assert grant.expires_at.strftime("%Y-%m-%d") in listing


def test_only_the_committee_and_curators_revoke_a_grant_with_a_reason():
    request = approved_request()
    grant = Grant.objects.get(request=request)
    url = reverse("access_requests:grant-revoke", args=[grant.pk])
    assert signed_in(request.requester).post(url, {"reason": "x"}).status_code == 403
    assert 'name="reason"' not in html(
        signed_in(request.requester).get(reverse("access_requests:grant-detail", args=[grant.pk]))
    )
    user = curator()
    signed_in(user).post(url, {"reason": ""})
    grant.refresh_from_db()
    assert grant.state == GrantState.ACTIVE
    signed_in(user).post(url, {"reason": "Breach reported."})
    grant.refresh_from_db()
    request.refresh_from_db()
    assert grant.state == GrantState.REVOKED
    assert request.state == RequestState.REVOKED
    assert "Breach reported." in html(
        signed_in(request.requester).get(reverse("access_requests:grant-detail", args=[grant.pk]))
    )


# --- navigation ----------------------------------------------------------------------------------


def test_the_navigation_offers_the_access_pages_per_role():
    research_url = reverse("access_requests:request-list")
    committee_url = reverse("access_requests:committee-queue")
    dashboard = reverse("portal:dashboard")

    def links(user):
        page = html(signed_in(user).get(dashboard))
        return (f'href="{research_url}"' in page, f'href="{committee_url}"' in page)

    assert links(researcher()) == (True, False)
    assert links(committee()) == (False, True)
    assert links(curator()) == (False, True)
    assert links(UserFactory()) == (False, False)
    member = add_member(make_group())
    assert links(member) == (True, False)
