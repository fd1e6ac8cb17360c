"""Two-factor authentication: offered to everyone, required for curators and committee members."""

import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.urls import reverse

from tests.factories import PASSWORD, make_contributor, make_user_with_role
from tests.roles import Role

pytestmark = pytest.mark.django_db


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


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
