"""Research groups through their services (access_requests.services.groups) and selectors: who
creates a group, invitations by mail (token hashed, expiry, one use, the same answer for unknown
and used tokens), withdrawing, removing members, handing the group over, and who sees what.

The helpers at the top (researcher, make_group, add_member) are shared with test_agreements.py."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from access_requests import selectors
from access_requests.models import (
    GroupInvitation,
    GroupKind,
    GroupMember,
    MemberRole,
    MembershipChange,
    MembershipEvent,
)
from access_requests.services import groups
from tests.factories import UserFactory, make_user_with_role
from tests.roles import Role

# --- helpers shared with test_agreements.py ------------------------------------------------------


def researcher(**fields):
    return make_user_with_role(Role.RESEARCHER, **fields)


def make_group(pi=None, **overrides):
    values = {
        "actor": pi or researcher(),
        "name": "Cervical screening AI",
        "institution": "University of Nairobi",
        "country": "KE",
        "kind": GroupKind.ACADEMIC,
        "signing_official_name": "Grace Wanjiru",
        "signing_official_email": "research-office@uonbi.example",
    }
    values.update(overrides)
    return groups.create_group(**values)


def add_member(group, user=None):
    """A member brought in the real way: invited by the PI, accepting the link."""
    user = user or UserFactory()
    _invitation, token = groups.invite_member(
        group=group, actor=group.principal_investigator, email=user.email
    )
    groups.accept_invitation(token=token, user=user)
    return user


def errors_of(raised) -> dict:
    return raised.value.message_dict


def freeze(monkeypatch, moment):
    monkeypatch.setattr(timezone, "now", lambda: moment)


# --- creating a group ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_researcher_creates_a_group_and_leads_it():
    pi = researcher()
    group = make_group(pi, country=" ke ", name="  Screening AI ")
    assert (group.name, group.country, group.kind) == ("Screening AI", "KE", "academic")
    assert group.principal_investigator == pi
    member = GroupMember.objects.get(group=group)
    assert (member.user, member.role) == (pi, MemberRole.PRINCIPAL_INVESTIGATOR)
    assert list(selectors.groups_of(pi)) == [group]


@pytest.mark.django_db
def test_only_researchers_create_groups():
    with pytest.raises(PermissionDenied):
        make_group(UserFactory())
    with pytest.raises(PermissionDenied):
        make_group(make_user_with_role(Role.CURATOR))


@pytest.mark.django_db
@pytest.mark.parametrize("country", ["", "K", "KEN", "K1", "12"])
def test_the_country_is_an_iso_two_letter_code(country):
    with pytest.raises(ValidationError) as raised:
        make_group(country=country)
    assert set(errors_of(raised)) == {"country"}


@pytest.mark.django_db
def test_bad_fields_are_named_together_and_nothing_is_stored():
    with pytest.raises(ValidationError) as raised:
        make_group(
            name=" ",
            institution="",
            kind="charity",
            signing_official_name="",
            signing_official_email="not-an-address",
        )
    assert set(errors_of(raised)) == {
        "name",
        "institution",
        "kind",
        "signing_official_name",
        "signing_official_email",
    }
    assert not GroupMember.objects.exists()


@pytest.mark.django_db
def test_a_commercial_group():
    group = make_group(kind=GroupKind.COMMERCIAL)
    assert group.is_commercial


# --- invitations ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_invitation_stores_only_the_tokens_hash_and_mails_the_link_on_commit(
    settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://bank.example/"
    settings.ACCESS_INVITATION_DAYS = 10
    group = make_group()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invitation, token = groups.invite_member(
            group=group, actor=group.principal_investigator, email=" Amina@Lab.example "
        )
        assert mail.outbox == []  # not before the commit
    assert len(callbacks) == 1
    assert len(token) >= 40
    assert invitation.email == "Amina@Lab.example"
    assert invitation.token_sha256 == groups.token_hash(token) != token
    assert not GroupInvitation.objects.filter(token_sha256=token).exists()
    assert invitation.expires_at - invitation.created_at == pytest.approx(
        timedelta(days=10), abs=timedelta(seconds=5)
    )
    [message] = mail.outbox
    assert message.to == ["Amina@Lab.example"]
    assert group.name in message.subject
    assert f"https://bank.example/access/invitations/{token}/" in message.body


@pytest.mark.django_db
def test_no_mail_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    group = make_group()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        groups.invite_member(
            group=group, actor=group.principal_investigator, email="amina@lab.example"
        )
    assert len(callbacks) == 1 and mail.outbox == []  # queued for the commit, not sent


@pytest.mark.django_db
def test_only_the_pi_invites():
    group = make_group()
    member = add_member(group)
    for actor in (member, researcher(), make_user_with_role(Role.ACCESS_COMMITTEE)):
        with pytest.raises(PermissionDenied):
            groups.invite_member(group=group, actor=actor, email="someone@lab.example")
    assert not GroupInvitation.objects.filter(email="someone@lab.example").exists()


@pytest.mark.django_db
def test_no_invitation_for_a_member_or_an_address_already_invited():
    group = make_group()
    pi = group.principal_investigator
    member = add_member(group)
    with pytest.raises(ValidationError) as raised:
        groups.invite_member(group=group, actor=pi, email=member.email.upper())
    assert set(errors_of(raised)) == {"email"}
    groups.invite_member(group=group, actor=pi, email="amina@lab.example")
    with pytest.raises(ValidationError) as raised:
        groups.invite_member(group=group, actor=pi, email="AMINA@lab.example")
    assert set(errors_of(raised)) == {"email"}
    with pytest.raises(ValidationError) as raised:
        groups.invite_member(group=group, actor=pi, email="not an address")
    assert set(errors_of(raised)) == {"email"}


@pytest.mark.django_db
def test_an_address_can_be_invited_again_once_its_invitation_expired_or_was_withdrawn(
    monkeypatch,
):
    group = make_group()
    pi = group.principal_investigator
    first, _token = groups.invite_member(group=group, actor=pi, email="amina@lab.example")
    groups.withdraw_invitation(invitation=first, actor=pi)
    second, _token = groups.invite_member(group=group, actor=pi, email="amina@lab.example")
    freeze(monkeypatch, second.expires_at + timedelta(seconds=1))
    third, _token = groups.invite_member(group=group, actor=pi, email="amina@lab.example")
    assert len({first.pk, second.pk, third.pk}) == 3


@pytest.mark.django_db
def test_the_invited_user_accepts_with_their_own_address_in_any_case():
    group = make_group()
    user = UserFactory(email="amina@lab.example")
    invitation, token = groups.invite_member(
        group=group, actor=group.principal_investigator, email="Amina@LAB.example"
    )
    member = groups.accept_invitation(token=token, user=user)
    assert (member.group, member.user, member.role) == (group, user, MemberRole.MEMBER)
    invitation.refresh_from_db()
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    assert list(selectors.groups_of(user)) == [group]


@pytest.mark.django_db
def test_another_user_cannot_accept_someone_elses_invitation():
    group = make_group()
    _invitation, token = groups.invite_member(
        group=group, actor=group.principal_investigator, email="amina@lab.example"
    )
    eve = UserFactory(email="eve@lab.example")
    with pytest.raises(PermissionDenied):
        groups.accept_invitation(token=token, user=eve)
    assert not selectors.is_member(group, eve)
    assert GroupMember.objects.filter(group=group).count() == 1


@pytest.mark.django_db
def test_unknown_and_used_tokens_get_the_same_answer():
    group = make_group()
    user = UserFactory(email="amina@lab.example")
    _invitation, token = groups.invite_member(
        group=group, actor=group.principal_investigator, email=user.email
    )
    groups.accept_invitation(token=token, user=user)
    with pytest.raises(ValidationError) as used:
        groups.accept_invitation(token=token, user=user)
    with pytest.raises(ValidationError) as unknown:
        groups.accept_invitation(token="made-up-token", user=user)
    assert errors_of(used) == errors_of(unknown)
    assert set(errors_of(used)) == {"token"}


@pytest.mark.django_db
def test_an_expired_invitation_is_refused(monkeypatch, settings):
    settings.ACCESS_INVITATION_DAYS = 14
    group = make_group()
    user = UserFactory(email="amina@lab.example")
    invitation, token = groups.invite_member(
        group=group, actor=group.principal_investigator, email=user.email
    )
    freeze(monkeypatch, invitation.created_at + timedelta(days=14, seconds=1))
    with pytest.raises(ValidationError) as raised:
        groups.accept_invitation(token=token, user=user)
    assert "expired" in errors_of(raised)["token"][0]
    assert not selectors.is_member(group, user)


@pytest.mark.django_db
def test_an_invitation_accepted_just_before_it_expires_counts(monkeypatch):
    group = make_group()
    user = UserFactory(email="amina@lab.example")
    invitation, token = groups.invite_member(
        group=group, actor=group.principal_investigator, email=user.email
    )
    freeze(monkeypatch, invitation.expires_at - timedelta(seconds=1))
    groups.accept_invitation(token=token, user=user)
    assert selectors.is_member(group, user)


@pytest.mark.django_db
def test_a_withdrawn_invitation_is_refused():
    group = make_group()
    pi = group.principal_investigator
    user = UserFactory(email="amina@lab.example")
    invitation, token = groups.invite_member(group=group, actor=pi, email=user.email)
    withdrawn = groups.withdraw_invitation(invitation=invitation, actor=pi)
    assert withdrawn.withdrawn_at is not None
    with pytest.raises(ValidationError) as raised:
        groups.accept_invitation(token=token, user=user)
    assert "withdrawn" in errors_of(raised)["token"][0]
    assert not selectors.is_member(group, user)


@pytest.mark.django_db
def test_only_the_pi_withdraws_and_not_an_accepted_invitation():
    group = make_group()
    pi = group.principal_investigator
    member = add_member(group)
    invitation, _token = groups.invite_member(group=group, actor=pi, email="x@lab.example")
    with pytest.raises(PermissionDenied):
        groups.withdraw_invitation(invitation=invitation, actor=member)
    accepted = GroupInvitation.objects.get(accepted_by=member)
    with pytest.raises(ValidationError):
        groups.withdraw_invitation(invitation=accepted, actor=pi)
    groups.withdraw_invitation(invitation=invitation, actor=pi)
    with pytest.raises(ValidationError):
        groups.withdraw_invitation(invitation=invitation, actor=pi)


@pytest.mark.django_db
def test_an_anonymous_user_cannot_accept():
    from django.contrib.auth.models import AnonymousUser

    group = make_group()
    _invitation, token = groups.invite_member(
        group=group, actor=group.principal_investigator, email="amina@lab.example"
    )
    with pytest.raises(PermissionDenied):
        groups.accept_invitation(token=token, user=AnonymousUser())


# --- members -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_pi_removes_a_member_but_not_themselves():
    group = make_group()
    pi = group.principal_investigator
    member = add_member(group)
    with pytest.raises(ValidationError) as raised:
        groups.remove_member(group=group, actor=pi, user=pi)
    assert set(errors_of(raised)) == {"user"}
    groups.remove_member(group=group, actor=pi, user=member)
    assert not selectors.is_member(group, member)
    with pytest.raises(ValidationError):
        groups.remove_member(group=group, actor=pi, user=member)  # not a member any more


@pytest.mark.django_db
def test_a_member_cannot_remove_another():
    group = make_group()
    first, second = add_member(group), add_member(group)
    with pytest.raises(PermissionDenied):
        groups.remove_member(group=group, actor=first, user=second)
    with pytest.raises(PermissionDenied):
        groups.remove_member(group=group, actor=first, user=group.principal_investigator)
    assert selectors.is_member(group, second)


@pytest.mark.django_db
def test_the_pi_hands_the_group_over_to_a_member():
    group = make_group()
    old_pi = group.principal_investigator
    member = add_member(group)
    membership = groups.transfer_pi(group=group, actor=old_pi, new_pi=member)
    assert membership.role == MemberRole.PRINCIPAL_INVESTIGATOR
    group.refresh_from_db()
    assert group.principal_investigator == member
    assert GroupMember.objects.get(group=group, user=old_pi).role == MemberRole.MEMBER
    assert selectors.is_principal_investigator(group, member)
    assert not selectors.is_principal_investigator(group, old_pi)
    # The former PI is an ordinary member now: the new PI may remove them.
    with pytest.raises(PermissionDenied):
        groups.remove_member(group=group, actor=old_pi, user=member)
    groups.remove_member(group=group, actor=member, user=old_pi)


@pytest.mark.django_db
def test_the_group_is_handed_only_to_a_member_and_only_by_the_pi():
    group = make_group()
    pi = group.principal_investigator
    member = add_member(group)
    with pytest.raises(ValidationError) as raised:
        groups.transfer_pi(group=group, actor=pi, new_pi=researcher())
    assert set(errors_of(raised)) == {"new_pi"}
    with pytest.raises(ValidationError):
        groups.transfer_pi(group=group, actor=pi, new_pi=pi)
    with pytest.raises(PermissionDenied):
        groups.transfer_pi(group=group, actor=member, new_pi=member)
    group.refresh_from_db()
    assert group.principal_investigator == pi


@pytest.mark.django_db
def test_every_membership_change_is_recorded_and_outlives_the_member():
    group = make_group()
    founder = group.principal_investigator
    member, leaver = add_member(group), add_member(group)
    groups.remove_member(group=group, actor=founder, user=leaver)
    groups.transfer_pi(group=group, actor=founder, new_pi=member)
    events = list(MembershipEvent.objects.filter(group=group).order_by("at", "pk"))
    assert [(event.user, event.change, event.actor) for event in events] == [
        (founder, MembershipChange.FOUNDED, founder),
        (member, MembershipChange.JOINED, member),
        (leaver, MembershipChange.JOINED, leaver),
        (leaver, MembershipChange.REMOVED, founder),
        (founder, MembershipChange.STEPPED_DOWN, founder),
        (member, MembershipChange.LEADS, founder),
    ]
    # A join names the invitation it used; the removed member's membership row is gone, their
    # history is not.
    assert events[1].invitation.accepted_by == member
    assert not GroupMember.objects.filter(group=group, user=leaver).exists()
    # The newest first, for whoever sees the members; nothing for anyone else.
    seen = selectors.membership_history(group, viewer=make_user_with_role(Role.ACCESS_COMMITTEE))
    assert [event.pk for event in seen] == [event.pk for event in reversed(events)]
    assert not selectors.membership_history(group, viewer=leaver).exists()
    assert not selectors.membership_history(group, viewer=researcher()).exists()


@pytest.mark.django_db
def test_a_refused_change_records_nothing():
    group = make_group()
    pi = group.principal_investigator
    member = add_member(group)
    before = MembershipEvent.objects.count()
    with pytest.raises(ValidationError):
        groups.remove_member(group=group, actor=pi, user=pi)
    with pytest.raises(PermissionDenied):
        groups.transfer_pi(group=group, actor=member, new_pi=member)
    with pytest.raises(ValidationError):
        groups.transfer_pi(group=group, actor=pi, new_pi=researcher())
    assert MembershipEvent.objects.count() == before


# --- who sees what -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_members_are_seen_by_members_the_committee_and_curators_only():
    group = make_group()
    pi = group.principal_investigator
    member = add_member(group)
    expected = [pi, member]
    for viewer in (
        pi,
        member,
        make_user_with_role(Role.ACCESS_COMMITTEE),
        make_user_with_role(Role.CURATOR),
    ):
        assert [m.user for m in selectors.members_of(group, viewer=viewer)] == expected
    other_group = make_group()
    for viewer in (
        researcher(),
        make_user_with_role(Role.REVIEWER),
        other_group.principal_investigator,
    ):
        assert list(selectors.members_of(group, viewer=viewer)) == []


@pytest.mark.django_db
def test_pending_invitations_are_the_pis_only_and_exclude_closed_ones(monkeypatch):
    group = make_group()
    pi = group.principal_investigator
    member = add_member(group)
    open_one, _token = groups.invite_member(group=group, actor=pi, email="open@lab.example")
    withdrawn, _token = groups.invite_member(group=group, actor=pi, email="gone@lab.example")
    groups.withdraw_invitation(invitation=withdrawn, actor=pi)
    assert list(selectors.pending_invitations(group, viewer=pi)) == [open_one]
    for viewer in (
        member,
        make_user_with_role(Role.CURATOR),
        make_user_with_role(Role.ACCESS_COMMITTEE),
    ):
        assert list(selectors.pending_invitations(group, viewer=viewer)) == []
    freeze(monkeypatch, open_one.expires_at + timedelta(seconds=1))
    assert list(selectors.pending_invitations(group, viewer=pi)) == []


@pytest.mark.django_db
def test_groups_of_lists_only_the_users_groups():
    pi = researcher()
    first = make_group(pi, name="A group")
    second = make_group(pi, name="B group")
    member = add_member(second)
    make_group(name="Not theirs")
    assert list(selectors.groups_of(pi)) == [first, second]
    assert list(selectors.groups_of(member)) == [second]
