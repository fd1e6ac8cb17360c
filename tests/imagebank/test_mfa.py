"""Two-factor authentication: offered to everyone, required for curators, committee members,
superusers and staff, on the pages and in the admin (whose password-only login is replaced)."""

from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import (
    TOTP,
    generate_totp_secret,
)
from django.urls import reverse

from imagebank.models import User
from tests.factories import PASSWORD, make_contributor, make_user_with_role
from tests.roles import Role
from tests.totp import current_code

pytestmark = pytest.mark.django_db


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.mark.parametrize("role", [Role.CURATOR, Role.ACCESS_COMMITTEE])
def test_a_privileged_role_without_mfa_is_sent_to_set_it_up(client, role):
    user = verified(make_user_with_role(role))
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert client.session["_auth_user_id"] == str(user.pk)
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    # The set-up page is reachable (allauth first asks for the password again), or nobody could
    # comply.
    response = client.get(reverse("mfa_activate_totp"))
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("account_reauthenticate"))
        client.post(response["Location"], {"password": PASSWORD})
        response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    assert b"<svg" in response.content or b"image/svg" in response.content  # the QR code


@pytest.mark.parametrize("role", [Role.CURATOR, Role.ACCESS_COMMITTEE])
def test_a_privileged_role_without_mfa_is_refused_by_the_api(client, role):
    client.force_login(make_user_with_role(role))
    response = client.get("/api/cases/")
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]


def test_a_curator_with_totp_uses_the_portal(client):
    curator = make_user_with_role(Role.CURATOR)
    TOTP.activate(curator, generate_totp_secret())
    client.force_login(curator)
    assert client.get(reverse("portal:dashboard")).status_code == 200


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.RESEARCHER])
def test_other_roles_are_not_forced(client, role):
    client.force_login(make_user_with_role(role))
    assert client.get(reverse("portal:dashboard")).status_code == 200


def test_contributors_are_not_forced(client):
    client.force_login(make_contributor())
    assert client.get(reverse("portal:dashboard")).status_code == 200


def test_signing_in_with_totp_asks_for_the_code(client):
    curator = verified(make_user_with_role(Role.CURATOR))
    secret = generate_totp_secret()
    TOTP.activate(curator, secret)

    response = client.post(reverse("account_login"), {"login": curator.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    # The password alone does not sign in.
    assert client.get(reverse("portal:dashboard")).status_code == 302

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session

    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(curator.pk)
    assert client.get(reverse("portal:dashboard")).status_code == 200


# --- superusers, staff and the admin ------------------------------------------------------------


def test_a_superuser_without_mfa_is_sent_to_set_it_up_on_pages_and_the_admin(client):
    superuser = User.objects.create_superuser("root@example.org", PASSWORD)
    client.force_login(superuser)
    for path in (reverse("portal:dashboard"), reverse("admin:index")):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("mfa_activate_totp"))


def test_staff_without_mfa_are_sent_to_set_it_up(client):
    staff = make_contributor(is_staff=True)
    client.force_login(staff)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


def test_the_admin_login_sends_to_the_sites_sign_in(client):
    response = client.get(reverse("admin:login"), {"next": "/admin/imagebank/case/"})
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("account_login") + "?" + urlencode({"next": "/admin/imagebank/case/"})
    )
    # An address elsewhere is not followed.
    response = client.get(reverse("admin:login"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("account_login") + "?" + urlencode({"next": "/admin/"})
    # The admin itself sends anonymous visitors the same way.
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))


def test_the_admin_login_form_cannot_sign_in_with_a_password_alone(client):
    superuser = verified(User.objects.create_superuser("root@example.org", PASSWORD))
    TOTP.activate(superuser, generate_totp_secret())
    response = client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": superuser.email, "password": PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_admin_is_reached_through_the_second_factor(client):
    superuser = verified(User.objects.create_superuser("root@example.org", PASSWORD))
    secret = generate_totp_secret()
    TOTP.activate(superuser, secret)

    response = client.post(
        reverse("account_login") + "?next=/admin/",
        {"login": superuser.email, "password": PASSWORD, "next": "/admin/"},
    )
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("admin:index")).status_code == 302  # the password is not enough

    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get(reverse("admin:index")).status_code == 200
    # Signed in, the admin login page just goes on to the admin.
    assert client.get(reverse("admin:login"))["Location"] == "/admin/"


def test_a_signed_in_user_without_admin_access_is_refused_by_the_admin_login(client):
    client.force_login(make_contributor())
    assert client.get(reverse("admin:login")).status_code == 403
