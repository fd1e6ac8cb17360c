"""`manage.py create_user EMAIL --role … [--site SLUG …] [--password-file F]` (issue 11, item 1):
accounts for administrators and scripts, with every role of the registry, site memberships made
through the site service, a password from a file or none, every input validated, and nothing
half-created on error."""

import io

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from imagebank.management.commands import create_user as command
from imagebank.models import SiteMembership, User
from imagebank.roles import role_codes, site_contributors_group_name, user_roles
from imagebank.services import sites as site_services
from tests.factories import PASSWORD, UserFactory, make_site
from tests.roles import Role

pytestmark = pytest.mark.django_db

STRONG = "amber-lantern-harbour-42"


def create_user(*args) -> str:
    out = io.StringIO()
    call_command("create_user", *args, stdout=out)
    return out.getvalue()


def refused(*args) -> str:
    """The command's error message; nothing may have been written."""
    users, memberships = User.objects.count(), SiteMembership.objects.count()
    with pytest.raises(CommandError) as raised:
        create_user(*args)
    assert raised.value.returncode == 1
    assert (User.objects.count(), SiteMembership.objects.count()) == (users, memberships)
    return str(raised.value)


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def password_file(tmp_path):
    def write(content: str | bytes, name: str = "password.txt"):
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    return write


# --- every role ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role", "mfa"),
    [
        ("reviewer", Role.REVIEWER, False),
        ("curator", Role.CURATOR, True),
        ("committee", Role.ACCESS_COMMITTEE, True),
        ("researcher", Role.RESEARCHER, False),
    ],
)
def test_each_role_is_the_role_its_app_registers(name, role, mfa):
    out = create_user(f"{name}@example.org", "--role", name)
    user = User.objects.get(email=f"{name}@example.org")
    assert user_roles(user) == {role.value}
    assert not SiteMembership.objects.filter(user=user).exists()
    assert not user.has_usable_password()
    assert not user.is_staff and not user.is_superuser
    assert f"Created user {name}@example.org: role {role.value}" in out
    assert "No usable password" in out and "/accounts/password/reset/" in out
    assert ("must set up two-factor authentication on first sign-in" in out) is mfa


def test_the_command_line_names_cover_every_registered_role():
    assert sorted(code for code in command.ROLE_NAMES.values() if code) == sorted(role_codes())


def test_a_contributor_has_no_bank_wide_role_and_is_a_member_of_each_site():
    kisumu, nairobi = make_site("kisumu"), make_site("nairobi")
    out = create_user(
        "clinician@example.org", "--role", "contributor", "--site", "kisumu", "--site", "nairobi"
    )
    user = User.objects.get(email="clinician@example.org")
    assert user_roles(user) == frozenset()
    assert {m.site for m in SiteMembership.objects.filter(user=user)} == {kisumu, nairobi}
    assert set(user.groups.values_list("name", flat=True)) == {
        site_contributors_group_name("kisumu"),
        site_contributors_group_name("nairobi"),
    }
    assert user.has_perm("imagebank.contribute_to_site", kisumu)
    assert "Contributor of: kisumu (Clinic kisumu), nairobi (Clinic nairobi)." in out
    assert "second factor" not in out


def test_a_reviewer_with_a_site_is_a_contributor_of_that_site():
    kisumu = make_site("kisumu")
    create_user("reviewer@example.org", "--role", "reviewer", "--site", "kisumu")
    user = User.objects.get(email="reviewer@example.org")
    assert user_roles(user) == {Role.REVIEWER.value}
    membership = SiteMembership.objects.get(user=user)
    assert membership.site == kisumu and membership.role == "contributor"
    # Through the service: the site's contributors group and its object permissions come too.
    assert user.groups.filter(pk=kisumu.contributors_group_id).exists()
    assert user.has_perm("imagebank.contribute_to_site", kisumu)


def test_a_curator_with_sites_and_a_site_given_twice_is_one_membership():
    make_site("kisumu")
    create_user("c@example.org", "--role", "curator", "--site", "kisumu", "--site", "kisumu")
    user = User.objects.get(email="c@example.org")
    assert user_roles(user) == {Role.CURATOR.value}
    assert SiteMembership.objects.filter(user=user).count() == 1


def test_the_address_is_checked_normalised_and_vouched_for():
    create_user("  Ann.Person@Example.ORG ", "--role", "researcher", "--full-name", " Ann  Person ")
    user = User.objects.get()
    assert user.email == "ann.person@example.org"
    assert user.full_name == "Ann Person"
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == (user.email, True, True)


def test_without_a_password_the_person_sets_one_through_password_reset(client):
    create_user("reviewer@example.org", "--role", "reviewer")
    response = client.post(reverse("account_reset_password"), {"email": "reviewer@example.org"})
    assert response.status_code == 302
    assert [message.to for message in mail.outbox] == [["reviewer@example.org"]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


# --- the password file --------------------------------------------------------------------------


def test_a_password_from_a_file_loses_one_trailing_newline_and_signs_in(client, password_file):
    path = password_file(STRONG + "\n")
    out = create_user("researcher@example.org", "--role", "researcher", "--password-file", path)
    user = User.objects.get()
    assert user.check_password(STRONG)
    assert "No usable password" not in out
    response = client.post(
        reverse("account_login"), {"login": "researcher@example.org", "password": STRONG}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize(
    ("content", "kept"),
    [
        (STRONG, STRONG),
        (STRONG + "\r\n", STRONG),
        (" " + STRONG + " \n", " " + STRONG + " "),  # only the newline goes
    ],
)
def test_only_one_trailing_newline_is_stripped(password_file, content, kept):
    create_user("r@example.org", "--role", "researcher", "--password-file", password_file(content))
    assert User.objects.get().check_password(kept)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("short\n", "too short"),
        ("password123\n", "too common"),
        ("83749201938475\n", "entirely numeric"),
        ("annperson-example\n", "too similar"),
        ("\n", "is empty"),
        ("", "is empty"),
        (STRONG + "\n\n", "one line"),
        (b"\xff\xfe\x00pass", "not UTF-8"),
    ],
)
def test_a_weak_or_wrong_password_file_is_refused(password_file, content, words):
    message = refused(
        "annperson@example.org", "--role", "reviewer", "--password-file", password_file(content)
    )
    assert message.startswith("--password-file:")
    assert words in message


def test_a_missing_or_unreadable_password_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.txt"
    message = refused("r@example.org", "--role", "reviewer", "--password-file", str(missing))
    assert message == f"--password-file: cannot read '{missing}': No such file or directory."
    message = refused("r@example.org", "--role", "reviewer", "--password-file", str(tmp_path))
    assert message.startswith(f"--password-file: cannot read '{tmp_path}'")


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["not-an-address", "a@b", "", "two@@example.org"])
def test_a_malformed_address_is_refused(email):
    assert refused(email, "--role", "researcher").startswith("email:")


def test_an_unknown_role_lists_the_valid_ones():
    message = refused("x@example.org", "--role", "reviewers")
    assert message == (
        "Unknown role 'reviewers'. Valid roles: contributor, reviewer, curator, committee, "
        "researcher."
    )


def test_an_unknown_site_is_named():
    make_site("kisumu")
    message = refused(
        "x@example.org", "--role", "reviewer", "--site", "kisumu", "--site", "atlantis"
    )
    assert "no site with the slug 'atlantis'" in message
    assert "kisumu" not in message.split("Create it")[0]


def test_a_contributor_needs_a_site():
    assert refused("x@example.org", "--role", "contributor") == (
        "--site: a contributor needs at least one site."
    )


def test_the_role_is_required():
    with pytest.raises(CommandError, match="--role"):
        create_user("x@example.org")


def test_an_existing_account_is_refused_whatever_the_letter_case():
    existing = UserFactory(email="ann@example.org")
    message = refused("ANN@example.org", "--role", "curator")
    assert "exists already" in message and "--add-to-existing" in message
    assert user_roles(fresh(existing)) == frozenset()


def test_add_to_existing_gives_the_role_and_sites_and_keeps_the_password(password_file):
    kisumu = make_site("kisumu")
    existing = UserFactory(email="ann@example.org", full_name="Ann")
    out = create_user(
        "ann@example.org", "--role", "reviewer", "--site", "kisumu", "--add-to-existing"
    )
    user = fresh(existing)
    assert user_roles(user) == {Role.REVIEWER.value}
    assert SiteMembership.objects.get(user=user).site == kisumu
    assert user.check_password(PASSWORD)
    assert out.startswith("Updated user ann@example.org")
    assert "No usable password" not in out
    # Never a password change that way.
    message = refused(
        "ann@example.org",
        "--role",
        "reviewer",
        "--add-to-existing",
        "--password-file",
        password_file(STRONG),
    )
    assert "through password reset" in message
    assert fresh(existing).check_password(PASSWORD)


def test_a_role_whose_app_is_not_installed_is_refused(monkeypatch):
    monkeypatch.setitem(command.ROLE_NAMES, "reviewer", "no_such_role")
    message = refused("x@example.org", "--role", "reviewer")
    assert "not registered" in message
    assert not Group.objects.filter(name="no_such_role").exists()


# --- one transaction ----------------------------------------------------------------------------


def test_nothing_is_half_created_when_a_site_membership_fails(monkeypatch):
    make_site("kisumu")
    make_site("nairobi")
    real = site_services.add_site_member

    def failing(*, site, user, **kwargs):
        if site.slug == "nairobi":
            raise RuntimeError("the database went away")
        return real(site=site, user=user, **kwargs)

    monkeypatch.setattr(site_services, "add_site_member", failing)
    with pytest.raises(RuntimeError):
        create_user("x@example.org", "--role", "reviewer", "--site", "kisumu", "--site", "nairobi")
    assert not User.objects.exists()
    assert not SiteMembership.objects.exists()
    assert not EmailAddress.objects.exists()


def test_a_refused_password_creates_nothing_even_with_valid_sites(password_file):
    make_site("kisumu")
    refused(
        "x@example.org",
        "--role",
        "curator",
        "--site",
        "kisumu",
        "--password-file",
        password_file("1"),
    )
    assert not EmailAddress.objects.exists()


def test_the_queue_never_hands_a_reviewer_made_with_a_site_that_sites_cases():
    from django.utils import timezone

    from curation.models import QueueEntry
    from curation.services.reviews import claim_next
    from imagebank.lifecycle import CaseState
    from imagebank.models import Case
    from tests.factories import make_case

    kisumu, nairobi = make_site("kisumu"), make_site("nairobi")
    create_user("reviewer@example.org", "--role", "reviewer", "--site", "kisumu")
    reviewer = User.objects.get(email="reviewer@example.org")
    own, other = make_case(site=kisumu), make_case(site=nairobi)
    now = timezone.now()
    Case.objects.filter(pk__in=[own.pk, other.pk]).update(
        state=CaseState.IN_REVIEW, submitted_at=now
    )
    QueueEntry.objects.create(case=own, entered_at=now - timezone.timedelta(days=1))
    QueueEntry.objects.create(case=other, entered_at=now)
    review = claim_next(reviewer)
    assert review is not None and review.case_id == other.pk
