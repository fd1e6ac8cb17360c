"""Grants through their services (access_requests.services.grants): approval gives exactly the
named accessors the download right through guardian; expiry, revocation and closing take it away
at once; later versions are covered only under "and later versions"; renewal; reminders."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from access_requests import request_selectors as selectors
from access_requests.lifecycle import GrantState, RequestState
from access_requests.models import Grant, ReleaseVersionGroupPermission
from access_requests.services import grants as services
from tests.access_requests.test_requests import (
    add_member,
    approved_request,
    committee_member,
    draft_request,
    make_group,
    published_version,
)
from tests.factories import UserFactory, make_user_with_role
from tests.roles import Role

pytestmark = pytest.mark.django_db


def granted(and_later_versions=False, slug=""):
    """An approved request of a group with two members, one of them the only accessor."""
    group = make_group()
    accessor = add_member(group)
    bystander = add_member(group)
    version = published_version(slug=slug)
    request = approved_request(
        group=group,
        requester=accessor,
        releases=[version],
        accessors=[accessor],
        and_later_versions=and_later_versions,
    )
    return request.grant, version, accessor, bystander


def publish_later(version, number="1.1.0"):
    later = published_version(version=number, slug=version.release.slug)
    services.cover_later_versions(later)
    return later


def test_approval_gives_exactly_the_named_accessors_the_download_right(settings):
    grant, version, accessor, bystander = granted()
    assert grant.state == GrantState.ACTIVE
    assert grant.auth_group.name == f"grant-{grant.request_id}"
    assert list(grant.auth_group.user_set.all()) == [accessor]
    assert list(grant.accessors.all()) == [accessor]
    assert list(grant.releases.all()) == [version]
    assert grant.expires_at - grant.starts_at == timedelta(days=settings.GRANT_DAYS)
    assert services.can_download(accessor, version)
    outsider = make_group().principal_investigator
    for user in (bystander, grant.group.principal_investigator, outsider, committee_member()):
        assert not services.can_download(user, version)
    assert not services.can_download(accessor, published_version())  # not granted


def test_create_grant_is_idempotent_and_needs_an_approved_request():
    grant, *_ = granted()
    assert services.create_grant(grant.request) == grant
    assert Grant.objects.count() == 1
    with pytest.raises(ValidationError):
        services.create_grant(draft_request())


def test_past_its_expiry_access_stops_at_once_and_the_expiry_task_cleans_up():
    grant, version, accessor, _ = granted()
    assert not services.can_download(accessor, version, now=grant.expires_at)
    assert services.expire_grants(grant.expires_at - timedelta(seconds=1)) == 0
    assert services.expire_grants(grant.expires_at) == 1
    grant.refresh_from_db()
    grant.request.refresh_from_db()
    assert (grant.state, grant.request.state) == (GrantState.EXPIRED, RequestState.EXPIRED)
    assert grant.ended_at == grant.expires_at
    assert not grant.auth_group.user_set.exists()
    assert not ReleaseVersionGroupPermission.objects.filter(group=grant.auth_group).exists()
    assert not services.can_download(accessor, version)
    assert services.expire_grants(grant.expires_at) == 0


def test_revocation_stops_access_at_once_with_a_reason_by_the_committee_or_a_curator():
    grant, version, accessor, _ = granted()
    for user in (accessor, grant.group.principal_investigator, UserFactory()):
        with pytest.raises(PermissionDenied):
            services.revoke_grant(grant, actor=user, reason="Breach.")
    member = committee_member()
    with pytest.raises(ValidationError) as raised:
        services.revoke_grant(grant, actor=member, reason=" ")
    assert "reason" in raised.value.message_dict
    assert services.can_download(accessor, version)

    services.revoke_grant(grant, actor=member, reason="Data shared outside the group.")
    assert not services.can_download(accessor, version)
    grant.refresh_from_db()
    grant.request.refresh_from_db()
    assert (grant.state, grant.end_reason) == (GrantState.REVOKED, "Data shared outside the group.")
    assert grant.request.state == RequestState.REVOKED
    assert grant.request.history.last().actor == member
    with pytest.raises(ValidationError):
        services.revoke_grant(grant, actor=make_user_with_role(Role.CURATOR), reason="Again.")


def test_a_leftover_permission_row_gives_nothing_without_a_live_grant():
    grant, version, accessor, _ = granted()
    Grant.objects.filter(pk=grant.pk).update(state=GrantState.REVOKED)  # rows left in place
    assert ReleaseVersionGroupPermission.objects.filter(group=grant.auth_group).exists()
    assert not services.can_download(accessor, version)


def test_the_pi_closes_a_grant_confirming_the_data_were_destroyed():
    grant, version, accessor, _ = granted()
    with pytest.raises(PermissionDenied):
        services.close_grant(grant, actor=accessor, destroyed_confirmed=True)
    pi = grant.group.principal_investigator
    with pytest.raises(ValidationError) as raised:
        services.close_grant(grant, actor=pi, destroyed_confirmed=False)
    assert "destroyed_confirmed" in raised.value.message_dict
    services.close_grant(grant, actor=pi, destroyed_confirmed=True)
    grant.refresh_from_db()
    assert grant.state == GrantState.CLOSED and grant.destruction_confirmed_at is not None
    assert grant.request.__class__.objects.get(pk=grant.request_id).state == RequestState.CLOSED
    assert not services.can_download(accessor, version)


def test_later_versions_are_covered_only_under_and_later_versions():
    with_later, version, accessor, _ = granted(and_later_versions=True)
    later = publish_later(version, "1.1.0")
    earlier = published_version(version="0.9.0", slug=version.release.slug)
    services.cover_later_versions(earlier)
    assert services.can_download(accessor, later)
    assert not services.can_download(accessor, earlier)

    without, version_b, accessor_b, _ = granted(and_later_versions=False)
    later_b = publish_later(version_b, "2.0.0")
    assert not services.can_download(accessor_b, later_b)
    assert not services.can_download(accessor, later_b)  # another release altogether

    services.revoke_grant(with_later, actor=committee_member(), reason="Ended.")
    assert not services.can_download(accessor, later)


def test_a_grant_made_after_a_later_version_was_published_covers_it():
    group = make_group()
    accessor = add_member(group)
    version = published_version()
    later = published_version(version="1.0.1", slug=version.release.slug)
    approved_request(
        group=group,
        requester=accessor,
        releases=[version],
        accessors=[accessor],
        and_later_versions=True,
    )
    assert services.can_download(accessor, later)


def test_an_unpublished_version_is_never_downloadable():
    grant, version, accessor, _ = granted(and_later_versions=True)
    building = published_version(version="1.2.0", slug=version.release.slug, state="built")
    assert services.cover_later_versions(building) == 0
    assert not services.can_download(accessor, building)
    assert not ReleaseVersionGroupPermission.objects.filter(content_object=building).exists()


def test_renewal_by_the_pi_with_a_progress_report_sets_a_new_expiry(settings):
    grant, version, accessor, _ = granted()
    Grant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() + timedelta(days=10), reminded_month_at=timezone.now()
    )
    with pytest.raises(PermissionDenied):
        services.renew_grant(grant, actor=accessor, progress_report="Done.", publications="")
    pi = grant.group.principal_investigator
    with pytest.raises(ValidationError) as raised:
        services.renew_grant(grant, actor=pi, progress_report="", publications="")
    assert "progress_report" in raised.value.message_dict
    renewed = services.renew_grant(
        grant, actor=pi, progress_report="Model trained.", publications="doi:10.1/x"
    )
    assert renewed.expires_at > timezone.now() + timedelta(days=settings.GRANT_DAYS - 1)
    assert renewed.reminded_month_at is None
    message = grant.request.messages.get()
    assert "Model trained." in message.text and "doi:10.1/x" in message.text
    assert services.can_download(accessor, version)


def test_an_ended_grant_is_not_renewed():
    grant, *_ = granted()
    services.revoke_grant(grant, actor=committee_member(), reason="Breach.")
    with pytest.raises(ValidationError):
        services.renew_grant(
            grant, actor=grant.group.principal_investigator, progress_report="x", publications=""
        )


def test_reminders_go_a_month_and_a_week_before_expiry_once_to_the_pi_and_accessors(
    django_capture_on_commit_callbacks,
):
    grant, _version, accessor, bystander = granted()
    pi = grant.group.principal_investigator
    expiry = grant.expires_at
    assert services.reminders_due(expiry - timedelta(days=31)) == []

    month = expiry - timedelta(days=29)
    assert [(r.grant, r.kind) for r in services.reminders_due(month)] == [(grant, "month")]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_reminders(month) == 1
        assert services.send_reminders(month) == 0
    assert sorted(message.to[0] for message in mail.outbox) == sorted([pi.email, accessor.email])
    assert bystander.email not in {message.to[0] for message in mail.outbox}
    assert grant.request.project_title in mail.outbox[0].subject

    week = expiry - timedelta(days=6)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_reminders(week) == 1
        assert services.send_reminders(week) == 0
    assert len(mail.outbox) == 4
    grant.refresh_from_db()
    assert (grant.reminded_month_at, grant.reminded_week_at) == (month, week)
    assert services.reminders_due(expiry + timedelta(seconds=1)) == []


def test_a_grant_already_within_a_week_gets_only_the_weeks_reminder(
    django_capture_on_commit_callbacks,
):
    grant, *_ = granted()
    now = grant.expires_at - timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_reminders(now) == 1
    assert services.reminders_due(now) == []
    assert len(mail.outbox) == 2  # the PI and the accessor, once each


def test_the_grant_selectors_show_grants_to_members_and_the_committee():
    grant, _version, accessor, bystander = granted()
    assert list(selectors.grants_of_user(accessor)) == [grant]
    assert list(selectors.grants_of_user(bystander)) == [grant]  # a member of the group
    assert not selectors.grants_of_user(UserFactory()).exists()
    assert list(selectors.active_grants_of_group(committee_member(), grant.group)) == [grant]
    assert not selectors.active_grants_of_group(UserFactory(), grant.group).exists()
    services.revoke_grant(grant, actor=committee_member(), reason="Ended.")
    assert not selectors.active_grants_of_group(accessor, grant.group).exists()
    assert Group.objects.filter(name=f"grant-{grant.request_id}").exists()


def test_publishing_a_later_version_extends_the_grants_of_earlier_ones(
    django_capture_on_commit_callbacks,
):
    """The real path: curation publishes, its release_published hook reaches access_requests
    after the commit, and a grant of "and later versions" covers the new version."""
    from curation.models import ReleaseState
    from curation.services import releases

    grant, version, accessor, _ = granted(and_later_versions=True)
    later = published_version(version="1.2.0", slug=version.release.slug, state=ReleaseState.BUILT)
    assert not services.can_download(accessor, later)
    with django_capture_on_commit_callbacks(execute=True):
        releases.publish(later, actor=make_user_with_role(Role.CURATOR))
    later.refresh_from_db()
    assert ReleaseVersionGroupPermission.objects.filter(
        group=grant.auth_group, content_object=later
    ).exists()
    assert services.can_download(accessor, later)
