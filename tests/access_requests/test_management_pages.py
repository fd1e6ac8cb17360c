"""The pages that manage what already exists (access_requests.views): the PI renews a live grant
with a report, or closes it confirming the data were destroyed; the PI removes a member (told
when the member still holds a live grant) and hands the group over; curators and the committee
list the agreement's versions and publish a new one, which must be signed before the next
download.

Each action works for the one the service allows and its effect shows; everyone else is refused
as the existing pages refuse (404 where they may not see the object, 403 where they see it but may
not act, the sign-in page for anonymous visitors, 405 for a GET on a POST-only URL), and nothing
changes; a form refused comes back with the error named, and nothing changes."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from access_requests.lifecycle import GrantState, RequestState
from access_requests.models import (
    DataUseAgreement,
    Grant,
    GroupMember,
    MemberRole,
    ReleaseVersionGroupPermission,
    RequestMessage,
)
from access_requests.services import downloads as download_services
from access_requests.services import grants as grant_services
from tests.access_requests.test_pages import committee, curator, html, researcher, signed_in
from tests.access_requests.test_requests import (
    add_member,
    approved_request,
    make_group,
    sign,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PI = MemberRole.PRINCIPAL_INVESTIGATOR
REPORT = "Trained a first classifier on the training split."
PUBLICATIONS = "Doe et al., Triage of VIA images, 2027."


def live_grant():
    """A live grant of a group led by its PI, naming a member who is not the PI; and another
    member named on nothing. The PI signed version 1 when submitting."""
    pi = researcher(full_name="Grace Wanjiru")
    group = make_group(pi=pi)
    accessor = add_member(group)
    bystander = add_member(group)
    request = approved_request(group=group, requester=pi, accessors=[pi, accessor])
    return {
        "grant": Grant.objects.get(request=request),
        "pi": pi,
        "accessor": accessor,
        "member": bystander,
        "group": group,
    }


def field_has_error(page: str, name: str) -> bool:
    """Whether the form field `name` is shown with an error (templates/_field.html)."""
    return bool(re.search(rf'has-error">\s*(<input[^>]*>\s*)?<label for="id_{name}"', page))


def grant_url(name, grant):
    return reverse(f"access_requests:{name}", args=[grant.pk])


def outsider():
    """A member of another group (who may not see this one's grants or members)."""
    return add_member(make_group())


def unchanged(grant, before):
    grant.refresh_from_db()
    return (
        grant.state == GrantState.ACTIVE
        and grant.expires_at == before.expires_at
        and not RequestMessage.objects.filter(request_id=grant.request_id).exists()
        and ReleaseVersionGroupPermission.objects.filter(group=grant.auth_group).exists()
    )


# --- renewing and closing a grant ---------------------------------------------------------------


def test_the_pi_renews_a_live_grant_with_a_report_and_sees_the_new_expiry():
    g = live_grant()
    grant = g["grant"]
    soon = timezone.now() + timedelta(days=10)
    Grant.objects.filter(pk=grant.pk).update(expires_at=soon)
    client = signed_in(g["pi"])
    page = html(client.get(grant_url("grant-detail", grant)))
    expected = (timezone.now() + timedelta(days=settings.GRANT_DAYS)).strftime("%Y-%m-%d")
    assert f'data-renewal-expiry="{expected}"' in page
    assert 'name="progress_report"' in page and 'name="destroyed_confirmed"' in page

    response = client.post(
        grant_url("grant-renew", grant), {"progress_report": REPORT, "publications": PUBLICATIONS}
    )
    assert response.status_code == 302
    assert response["Location"] == grant_url("grant-detail", grant)
    grant.refresh_from_db()
    assert grant.state == GrantState.ACTIVE
    assert grant.expires_at > soon + timedelta(days=settings.GRANT_DAYS - 11)
    report = RequestMessage.objects.get(request_id=grant.request_id)
    assert report.author == g["pi"]
    assert REPORT in report.text and PUBLICATIONS in report.text
    page = html(client.get(grant_url("grant-detail", grant)))
    assert grant.expires_at.strftime("%Y-%m-%d") in page
    # The report is on the request, where the group and the committee read it.
    request_page = html(
        client.get(reverse("access_requests:request-detail", args=[grant.request_id]))
    )
    assert REPORT in request_page and PUBLICATIONS in request_page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"progress_report": REPORT, "publications": ""}, "publications"),
        ({"progress_report": "  ", "publications": PUBLICATIONS}, "progress_report"),
    ],
    ids=["no-publications", "no-report"],
)
def test_a_renewal_without_its_report_or_publications_comes_back_with_the_error(data, field):
    g = live_grant()
    grant = g["grant"]
    response = signed_in(g["pi"]).post(grant_url("grant-renew", grant), data)
    assert response.status_code == 400
    page = html(response)
    assert "This field is required." in page
    assert field_has_error(page, field)
    assert unchanged(grant, Grant.objects.get(pk=grant.pk))


def test_the_pi_closes_the_grant_confirming_the_destruction_and_access_stops():
    g = live_grant()
    grant = g["grant"]
    version = grant.releases.get()
    assert grant_services.can_download(g["accessor"], version)
    client = signed_in(g["pi"])
    response = client.post(grant_url("grant-close", grant), {"destroyed_confirmed": "on"})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.state == GrantState.CLOSED
    assert grant.destruction_confirmed_at is not None
    assert grant.request.state == RequestState.CLOSED
    assert not ReleaseVersionGroupPermission.objects.filter(group=grant.auth_group).exists()
    assert not grant.auth_group.user_set.exists()
    assert not grant_services.can_download(g["accessor"], version)
    assert not grant_services.can_download(g["pi"], version)
    page = html(client.get(grant_url("grant-detail", grant)))
    assert 'data-state="closed"' in page
    assert 'data-ended="closed"' in page and "data-destruction-confirmed" in page
    # Ended: no renewal nor closing is offered any more, and neither is accepted.
    assert 'name="progress_report"' not in page and 'name="destroyed_confirmed"' not in page
    again = client.post(
        grant_url("grant-renew", grant), {"progress_report": REPORT, "publications": "none"}
    )
    assert again.status_code == 400
    assert "Only a grant still in force can be renewed." in html(again)
    grant.refresh_from_db()
    assert grant.state == GrantState.CLOSED


def test_closing_without_the_confirmation_comes_back_with_the_error():
    g = live_grant()
    grant = g["grant"]
    response = signed_in(g["pi"]).post(grant_url("grant-close", grant), {})
    assert response.status_code == 400
    page = html(response)
    assert "Confirm that the data were destroyed or returned." in page
    assert field_has_error(page, "destroyed_confirmed")
    assert unchanged(grant, Grant.objects.get(pk=grant.pk))


GRANT_ACTIONS = {
    "grant-renew": {"progress_report": REPORT, "publications": PUBLICATIONS},
    "grant-close": {"destroyed_confirmed": "on"},
}


@pytest.mark.parametrize("name", sorted(GRANT_ACTIONS))
@pytest.mark.parametrize(
    ("who", "status"),
    [("member", 403), ("accessor", 403), ("committee", 403), ("curator", 403), ("outsider", 404)],
)
def test_only_the_pi_renews_or_closes_a_grant(name, who, status):
    g = live_grant()
    grant = g["grant"]
    before = Grant.objects.get(pk=grant.pk)
    user = {"committee": committee, "curator": curator, "outsider": outsider}.get(who)
    user = user() if user else g[who]
    client = signed_in(user)
    assert client.post(grant_url(name, grant), GRANT_ACTIONS[name]).status_code == status
    assert unchanged(grant, before)
    if status == 403:  # they see the grant's page, without the PI's forms
        page = html(client.get(grant_url("grant-detail", grant)))
        assert 'name="progress_report"' not in page and 'name="destroyed_confirmed"' not in page


@pytest.mark.parametrize("name", sorted(GRANT_ACTIONS))
def test_renewing_and_closing_are_post_only_and_need_a_sign_in(name):
    g = live_grant()
    grant = g["grant"]
    before = Grant.objects.get(pk=grant.pk)
    assert signed_in(g["pi"]).get(grant_url(name, grant)).status_code == 405
    response = Client().post(grant_url(name, grant), GRANT_ACTIONS[name])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert unchanged(grant, before)


# --- removing a member and handing the group over -----------------------------------------------


def group_url(name, group, *args):
    return reverse(f"access_requests:{name}", args=[group.pk, *args])


def test_the_pi_confirms_and_removes_a_member():
    g = live_grant()
    group, member = g["group"], g["member"]
    client = signed_in(g["pi"])
    detail = html(client.get(group_url("group-detail", group)))
    remove_url = group_url("member-remove", group, member.pk)
    assert f'href="{remove_url}"' in detail
    # No removal is offered for the PI themself.
    assert group_url("member-remove", group, g["pi"].pk) not in detail

    confirm = client.get(remove_url)
    assert confirm.status_code == 200
    assert member.email in html(confirm) and "data-live-grants" not in html(confirm)
    assert GroupMember.objects.filter(group=group, user=member).exists()  # GET writes nothing

    response = client.post(remove_url)
    assert response.status_code == 302
    assert response["Location"] == group_url("group-detail", group)
    assert not GroupMember.objects.filter(group=group, user=member).exists()
    after = html(client.get(group_url("group-detail", group)))
    assert f'data-member="{member.email}"' not in after
    # The membership history keeps them, and who removed them.
    assert f'data-change="removed" data-user="{member.email}"' in after
    history = after.split("data-membership-history")[1].split("</ol>")[0]
    assert "by " + escape(g["pi"].full_name or g["pi"].email) in history
    # The former member no longer sees the group.
    assert signed_in(member).get(group_url("group-detail", group)).status_code == 404


def test_removing_an_accessor_of_a_live_grant_takes_them_off_it_at_once():
    g = live_grant()
    group, accessor, grant = g["group"], g["accessor"], g["grant"]
    version = grant.releases.get()
    assert grant_services.can_download(accessor, version)
    client = signed_in(g["pi"])
    remove_url = group_url("member-remove", group, accessor.pk)
    confirm = html(client.get(remove_url))
    assert 'data-live-grants="1"' in confirm
    assert f'data-grant="{grant.pk}"' in confirm
    assert "takes them off every grant of the group at once" in confirm
    response = client.post(remove_url, follow=True)
    assert "their access has stopped" in html(response)
    assert not GroupMember.objects.filter(group=group, user=accessor).exists()
    # Off the grant and out of its guardian group: nothing is authorized for them any more
    # (asked on every download, whether by a page or with a token).
    assert not grant.accessors.filter(pk=accessor.pk).exists()
    assert not grant.auth_group.user_set.filter(pk=accessor.pk).exists()
    assert not grant_services.can_download(accessor, version)
    with pytest.raises(download_services.DownloadNotFound):
        download_services.authorize(accessor, grant.pk, version.release.slug, version.version)
    # The grant goes on for the others it names.
    grant.refresh_from_db()
    assert grant.state == GrantState.ACTIVE


def test_the_pi_cannot_remove_themself_nor_someone_outside_the_group():
    g = live_grant()
    group, pi = g["group"], g["pi"]
    client = signed_in(pi)
    for user in (pi, UserFactory()):
        url = group_url("member-remove", group, user.pk)
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert GroupMember.objects.filter(group=group, user=pi, role=PI).exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [("member", 403), ("accessor", 403), ("committee", 403), ("curator", 403), ("outsider", 404)],
)
def test_only_the_pi_removes_members_or_hands_the_group_over(who, status):
    g = live_grant()
    group, member = g["group"], g["member"]
    user = {"committee": committee, "curator": curator, "outsider": outsider}.get(who)
    user = user() if user else g[who]
    client = signed_in(user)
    remove_url = group_url("member-remove", group, member.pk)
    assert client.get(remove_url).status_code == status
    assert client.post(remove_url).status_code == status
    response = client.post(
        group_url("group-transfer-pi", group), {"new_pi": str(member.pk), "confirm": "on"}
    )
    assert response.status_code == status
    assert GroupMember.objects.filter(group=group, user=member, role=MemberRole.MEMBER).exists()
    group.refresh_from_db()
    assert group.principal_investigator == g["pi"]
    if status == 403:  # they see the group's page, without the PI's forms
        page = html(client.get(group_url("group-detail", group)))
        assert remove_url not in page and 'name="new_pi"' not in page


def test_removing_and_handing_over_need_a_sign_in_and_the_hand_over_is_post_only():
    g = live_grant()
    group, member = g["group"], g["member"]
    urls = (group_url("member-remove", group, member.pk), group_url("group-transfer-pi", group))
    for url in urls:
        response = Client().post(url, {"new_pi": str(member.pk), "confirm": "on"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert signed_in(g["pi"]).get(group_url("group-transfer-pi", group)).status_code == 405
    assert GroupMember.objects.filter(group=group, user=member, role=MemberRole.MEMBER).exists()
    group.refresh_from_db()
    assert group.principal_investigator == g["pi"]


def test_the_pi_hands_the_group_over_with_a_warning_and_stays_a_member():
    g = live_grant()
    group, old_pi, new_pi = g["group"], g["pi"], g["member"]
    client = signed_in(old_pi)
    page = html(client.get(group_url("group-detail", group)))
    assert 'name="new_pi"' in page and 'name="confirm"' in page
    assert "you lose the right to invite and remove members" in page
    response = client.post(
        group_url("group-transfer-pi", group), {"new_pi": str(new_pi.pk), "confirm": "on"}
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.principal_investigator == new_pi
    assert GroupMember.objects.get(group=group, user=old_pi).role == MemberRole.MEMBER
    assert GroupMember.objects.get(group=group, user=new_pi).role == PI
    # The former PI lost the PI's forms and rights; the new PI has them.
    page = html(client.get(group_url("group-detail", group)))
    assert 'name="new_pi"' not in page and 'name="email"' not in page
    assert client.post(group_url("member-remove", group, new_pi.pk)).status_code == 403
    assert 'name="new_pi"' in html(signed_in(new_pi).get(group_url("group-detail", group)))
    # Renewing the grant is the new PI's now.
    grant = g["grant"]
    assert (
        client.post(grant_url("grant-renew", grant), GRANT_ACTIONS["grant-renew"]).status_code
        == 403
    )
    assert 'name="progress_report"' in html(signed_in(new_pi).get(grant_url("grant-detail", grant)))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"confirm": "on"}, "This field is required."),
        ({"new_pi": "member"}, "Tick the confirmation to hand the group over."),
        ({"new_pi": "pi", "confirm": "on"}, "Select a valid choice."),
        ({"new_pi": "stranger", "confirm": "on"}, "Select a valid choice."),
    ],
    ids=["no-member", "no-confirmation", "themself", "not-a-member"],
)
def test_a_hand_over_refused_comes_back_with_the_error(data, error):
    g = live_grant()
    group = g["group"]
    people = {"member": g["member"], "pi": g["pi"], "stranger": researcher()}
    if "new_pi" in data:
        data = {**data, "new_pi": str(people[data["new_pi"]].pk)}
    response = signed_in(g["pi"]).post(group_url("group-transfer-pi", group), data)
    assert response.status_code == 400
    assert error in html(response)
    group.refresh_from_db()
    assert group.principal_investigator == g["pi"]
    assert GroupMember.objects.filter(group=group, role=PI).get().user == g["pi"]


# --- the agreement's versions -------------------------------------------------------------------

NEW_TEXT = "Data use agreement, version 2.\n\nThe data stay on the group's encrypted servers."


def list_url():
    return reverse("access_requests:agreement-list")


def publish_url():
    return reverse("access_requests:agreement-publish")


def test_the_versions_page_lists_the_versions_and_the_text_in_force():
    first = DataUseAgreement.objects.get(version=1)
    pi = researcher()
    sign(make_group(pi=pi), pi)
    page = html(signed_in(pi).get(list_url()))
    assert 'data-agreement-version="1"' in page and first.sha256 in page
    assert "data-current-text" in page and first.text.splitlines()[0][:40] in page
    # Researchers read the versions, not how many signed, and publish nothing.
    assert "data-signatures" not in page and 'name="text"' not in page
    for user in (committee(), curator()):
        page = html(signed_in(user).get(list_url()))
        assert 'data-signatures="1"' in page
        assert 'name="title"' in page and 'name="text"' in page
        assert "must sign it" in page
    assert signed_in(UserFactory()).get(list_url()).status_code == 403
    anonymous = Client().get(list_url())
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))


def test_the_versions_page_is_linked_from_the_committee_queue_and_the_signing_page():
    assert f'href="{list_url()}"' in html(
        signed_in(committee()).get(reverse("access_requests:committee-queue"))
    )
    pi = researcher()
    group = make_group(pi=pi)
    assert f'href="{list_url()}"' in html(
        signed_in(pi).get(reverse("access_requests:agreement-sign", args=[group.pk]))
    )


@pytest.mark.parametrize("publisher", [committee, curator], ids=["committee", "curator"])
def test_a_new_version_is_published_and_must_be_signed_before_the_next_download(publisher):
    g = live_grant()
    grant, pi = g["grant"], g["pi"]
    version = grant.releases.get()
    args = (pi, grant.pk, version.release.slug, version.version)
    download_services.authorize(*args)  # signed version 1: may download
    response = signed_in(publisher()).post(
        publish_url(), {"title": "Data use agreement", "text": NEW_TEXT}
    )
    assert response.status_code == 302 and response["Location"] == list_url()
    new = DataUseAgreement.objects.get(version=2)
    assert new.text == NEW_TEXT.strip()
    # Who published it is recorded, and shown to the committee and curators only.
    assert new.published_by is not None
    shown = html(signed_in(committee()).get(list_url()))
    assert (new.published_by.full_name or new.published_by.email) in shown
    assert "data-published-by" not in html(signed_in(pi).get(list_url()))
    page = html(signed_in(pi).get(list_url()))
    assert 'data-agreement-version="2" data-current' in page
    assert "The data stay on the group" in page

    with pytest.raises(download_services.AgreementUnsigned):
        download_services.authorize(*args)
    client = signed_in(pi)
    manifest = reverse(
        "access_requests:download-manifest",
        args=[grant.pk, version.release.slug, version.version],
    )
    refused = client.get(manifest)
    assert refused.status_code == 403 and 'data-refusal="agreement-unsigned"' in html(refused)
    sign_page = html(client.get(reverse("access_requests:agreement-sign", args=[g["group"].pk])))
    assert 'data-agreement-version="2"' in sign_page
    client.post(
        reverse("access_requests:agreement-sign", args=[g["group"].pk]),
        {"typed_name": "Grace Wanjiru"},
    )
    assert download_services.authorize(*args).signature.agreement == new
    assert client.get(manifest).status_code != 403


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "Data use agreement", "text": "   "}, "text"),
        ({"title": "", "text": NEW_TEXT}, "title"),
        ({"title": "x" * 201, "text": NEW_TEXT}, "title"),
    ],
    ids=["no-text", "no-title", "long-title"],
)
def test_a_version_refused_comes_back_with_the_error_and_nothing_is_published(data, field):
    response = signed_in(committee()).post(publish_url(), data)
    assert response.status_code == 400
    page = html(response)
    assert field_has_error(page, field)
    assert "This field is required." in page or "at most 200 characters" in page
    assert DataUseAgreement.objects.count() == 1


def test_only_the_committee_and_curators_publish_a_version():
    pi = researcher()
    make_group(pi=pi)
    data = {"title": "Data use agreement", "text": NEW_TEXT}
    for user in (pi, researcher(), UserFactory()):
        assert signed_in(user).post(publish_url(), data).status_code == 403
    anonymous = Client().post(publish_url(), data)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))
    assert signed_in(committee()).get(publish_url()).status_code == 405
    assert DataUseAgreement.objects.count() == 1
