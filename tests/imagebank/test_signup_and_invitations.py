"""Accounts are given out, not taken (issue 8, item 7).

Open sign-up gives nothing but a researcher account and can be switched off; every other role is
given by a curator's invitation, whose mail lets the person choose a password and sign in. Sign-up
and password reset answer the same whether the address is registered or not.
"""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.urls import reverse

from fixtures.demo_catalogue import DEMO_PASSWORD, USERS
from imagebank.models import SiteMembership, User
from imagebank.roles import user_roles
from tests.factories import PASSWORD, make_contributor, make_site, make_user_with_role
from tests.roles import Role

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-passphrase-2026"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # allauth limits mails per address (one confirmation per 3 minutes) in the cache, which
    # outlives a test: each test starts with none sent.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def sign_up(client, email: str, **extra):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, **extra},
    )


def sign_in(client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def curator_client(client):
    curator = make_user_with_role(Role.CURATOR)
    TOTP.activate(curator, generate_totp_secret())
    client.force_login(curator)
    return curator


def link_in(message) -> str:
    found = re.search(r"https?://\S+/accounts/password/reset/key/\S+", message.body)
    assert found, message.body
    return found.group(0)


# --- sign-up ---------------------------------------------------------------------------------


def test_sign_up_gives_a_researcher_account_and_nothing_else(client):
    response = sign_up(client, "new.researcher@example.org", role="curators", is_superuser="on")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="new.researcher@example.org")
    assert user_roles(user) == {Role.RESEARCHER.value}
    assert not user.is_superuser and not user.is_staff
    assert not SiteMembership.objects.filter(user=user).exists()
    # Not signed in until the address is confirmed.
    assert "_auth_user_id" not in client.session
    assert [message.to for message in mail.outbox] == [["new.researcher@example.org"]]


def test_sign_up_answers_the_same_for_a_registered_address(client):
    existing = make_contributor(email="taken@example.org")
    EmailAddress.objects.create(user=existing, email=existing.email, verified=True, primary=True)

    fresh = sign_up(client, "free@example.org")
    fresh_page = client.get(fresh["Location"])
    client.cookies.clear()
    taken = sign_up(client, "taken@example.org")
    taken_page = client.get(taken["Location"])

    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert taken_page.status_code == fresh_page.status_code == 200
    assert without_csrf(taken_page.content.decode()).replace(
        "taken@example.org", "ADDRESS"
    ) == without_csrf(fresh_page.content.decode()).replace("free@example.org", "ADDRESS")
    # No second account, no new role for the existing one; its owner is told by mail.
    assert User.objects.filter(email__iexact="taken@example.org").count() == 1
    assert Role.RESEARCHER.value not in user_roles(User.objects.get(pk=existing.pk))
    to_taken = [message for message in mail.outbox if message.to == ["taken@example.org"]]
    assert len(to_taken) == 1
    assert "/accounts/password/reset/" in to_taken[0].body  # "you already have an account"


def test_the_sign_up_form_never_says_an_address_is_taken(client):
    make_contributor(email="taken@example.org")
    response = sign_up(client, "TAKEN@example.org")
    assert response.status_code == 302
    assert b"already" not in client.get(response["Location"]).content


def test_a_new_researcher_signs_in_after_confirming_the_address(client):
    sign_up(client, "new.researcher@example.org")
    client.cookies.clear()
    # The password alone does not let an unconfirmed address in.
    response = sign_in(client, "new.researcher@example.org", NEW_PASSWORD)
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session

    confirmation = mail.outbox[-1].body
    key_url = re.search(r"https?://\S+/accounts/confirm-email/\S+/", confirmation).group(0)
    assert client.post(key_url).status_code == 302
    response = sign_in(client, "new.researcher@example.org", NEW_PASSWORD)
    assert response["Location"] == reverse("portal:dashboard")
    assert client.get(reverse("portal:dashboard")).status_code == 200


def test_sign_up_can_be_switched_off(client, settings):
    settings.SIGNUP_OPEN = False
    page = client.get(reverse("account_signup"))
    assert page.status_code == 200
    assert "invitation" in page.content.decode()
    assert b'name="password1"' not in page.content
    sign_up(client, "someone@example.org")
    assert not User.objects.filter(email="someone@example.org").exists()


def test_sign_up_is_open_by_default_and_says_what_it_gives(client):
    page = client.get(reverse("account_signup"))
    assert page.status_code == 200
    assert b'name="password1"' in page.content
    assert "researcher account" in page.content.decode()


def test_password_reset_answers_the_same_for_a_registered_address(client):
    make_contributor(email="known@example.org")
    known = client.post(reverse("account_reset_password"), {"email": "known@example.org"})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


# --- accounts that did not sign up ---------------------------------------------------------


def test_the_demo_users_sign_in(client):
    from django.core.management import call_command

    call_command("load_demo", stdout=__import__("io").StringIO())
    for spec in USERS:
        client.cookies.clear()
        response = sign_in(client, spec.email, DEMO_PASSWORD)
        assert response.status_code == 302, spec.email
        # Straight in, or on to the second factor: never the "confirm your address" page.
        assert response["Location"] != reverse("account_email_verification_sent"), spec.email
        assert client.session.get("_auth_user_id") == str(User.objects.get(email=spec.email).pk)


def test_an_account_made_by_an_administrator_signs_in(client):
    user = User.objects.create_user("made.in.admin@example.org", PASSWORD)
    response = sign_in(client, user.email, PASSWORD)
    assert response["Location"] == reverse("portal:dashboard")
    assert EmailAddress.objects.get(user=user).verified


# --- invitations ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.RESEARCHER, Role.ACCESS_COMMITTEE])
def test_only_curators_reach_the_invitation_page(client, role):
    user = make_user_with_role(role)
    TOTP.activate(user, generate_totp_secret())
    client.force_login(user)
    assert client.get(reverse("imagebank:invite")).status_code == 403
    response = client.post(
        reverse("imagebank:invite"), {"email": "x@example.org", "role": "curators"}
    )
    assert response.status_code == 403
    assert not User.objects.filter(email="x@example.org").exists()


def test_contributors_and_visitors_are_refused_too(client):
    assert client.get(reverse("imagebank:invite"))["Location"].startswith(reverse("account_login"))
    client.force_login(make_contributor())
    assert client.get(reverse("imagebank:invite")).status_code == 403


def test_the_page_offers_every_registered_role_and_the_sites(client):
    curator_client(client)
    dashboard = client.get(reverse("portal:dashboard")).content.decode()
    assert f'href="{reverse("imagebank:invite")}"' in dashboard
    site = make_site(name="Kisumu County Hospital")
    html = client.get(reverse("imagebank:invite")).content.decode()
    from imagebank.roles import registered_roles

    assert {role.value for role in registered_roles()} >= set(Role.values)
    for role in registered_roles():
        assert f'value="{role.value}"' in html, role
    assert "Kisumu County Hospital" in html and f'value="{site.pk}"' in html


def test_an_invited_reviewer_chooses_a_password_and_signs_in(
    client, django_capture_on_commit_callbacks
):
    curator = curator_client(client)
    site = make_site()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("imagebank:invite"),
            {
                "email": "New.Reviewer@Example.org",
                "full_name": "Dr New Reviewer",
                "role": Role.REVIEWER.value,
                "sites": [site.pk],
                "language": "en",
            },
        )
    assert response.status_code == 302
    invited = User.objects.get(email="new.reviewer@example.org")
    assert not invited.has_usable_password()
    assert user_roles(invited) == {Role.REVIEWER.value}
    assert SiteMembership.objects.filter(user=invited, site=site).exists()
    assert EmailAddress.objects.get(user=invited).verified
    assert [message.to for message in mail.outbox] == [["new.reviewer@example.org"]]
    message = mail.outbox[0]
    assert curator.full_name in message.body and site.name in message.body

    # The invited person, in another browser: the link, a password, then sign-in.
    client.logout()
    link = link_in(message)
    page = client.get(link, follow=True)
    assert page.status_code == 200 and b'name="password1"' in page.content
    set_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    done = client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    invited.refresh_from_db()
    assert invited.has_usable_password()
    response = sign_in(client, invited.email, NEW_PASSWORD)
    assert response["Location"] == reverse("portal:dashboard")
    assert client.get(reverse("portal:dashboard")).status_code == 200

    # The link works once.
    client.logout()
    again = client.get(link, follow=True)
    assert b'name="password1"' not in again.content


def test_an_invited_contributor_needs_no_bank_wide_role(client, django_capture_on_commit_callbacks):
    curator_client(client)
    site = make_site()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("imagebank:invite"),
            {"email": "nurse@example.org", "role": "", "sites": [site.pk], "language": "fr"},
        )
    invited = User.objects.get(email="nurse@example.org")
    assert user_roles(invited) == frozenset()
    assert SiteMembership.objects.get(user=invited).site == site
    assert len(mail.outbox) == 1


def test_an_invitation_needs_a_role_or_a_site(client):
    curator_client(client)
    response = client.post(
        reverse("imagebank:invite"), {"email": "x@example.org", "role": "", "language": "en"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["role"]
    assert not User.objects.filter(email="x@example.org").exists()


def test_an_unknown_role_is_refused(client):
    curator_client(client)
    response = client.post(
        reverse("imagebank:invite"),
        {"email": "x@example.org", "role": "superuser", "language": "en"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["role"]
    assert not User.objects.filter(email="x@example.org").exists()


def test_an_address_in_use_is_refused_and_a_pending_one_invited_again(
    client, django_capture_on_commit_callbacks
):
    curator_client(client)
    in_use = make_contributor(email="in.use@example.org")
    response = client.post(
        reverse("imagebank:invite"),
        {"email": "IN.USE@example.org", "role": Role.CURATOR.value, "language": "en"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert Role.CURATOR.value not in user_roles(User.objects.get(pk=in_use.pk))

    for _attempt in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("imagebank:invite"),
                {"email": "pending@example.org", "role": Role.REVIEWER.value, "language": "en"},
            )
        assert response.status_code == 302
    assert User.objects.filter(email="pending@example.org").count() == 1
    assert len(mail.outbox) == 2


def test_an_invited_curator_sets_up_two_factor_without_a_second_password_prompt(
    client, django_capture_on_commit_callbacks
):
    curator_client(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("imagebank:invite"),
            {"email": "second.curator@example.org", "role": Role.CURATOR.value, "language": "en"},
        )
    client.logout()
    page = client.get(link_in(mail.outbox[0]), follow=True)
    client.post(page.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    sign_in(client, "second.curator@example.org", NEW_PASSWORD)
    response = client.get(reverse("portal:dashboard"))
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    setup = client.get(response["Location"])
    assert setup.status_code == 200  # the set-up page itself, not "enter your password again"
