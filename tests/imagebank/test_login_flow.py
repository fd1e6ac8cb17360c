"""Signing in with two-factor authentication lands on the dashboard (or `next`), and asks for the
password once (issue 8, item 7).

Reproduced with the test client: a curator signed in with the password, was sent to set up the
authenticator app, was asked for the password again (allauth did not count the sign-in itself as
recent) and, once the app was active, landed on the recovery codes page instead of the dashboard.
"""

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    generate_totp_secret,
)
from django.urls import reverse

from tests.factories import PASSWORD, make_user_with_role
from tests.roles import Role
from tests.totp import current_code

pytestmark = pytest.mark.django_db


def curator(**fields):
    user = make_user_with_role(Role.CURATOR, **fields)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def sign_in(client, user, next_url: str = ""):
    url = reverse("account_login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"login": user.email, "password": PASSWORD})


def test_a_curator_setting_up_two_factor_gives_the_password_once_and_lands_on_the_dashboard(
    client,
):
    user = curator()
    assert sign_in(client, user)["Location"] == reverse("portal:dashboard")
    to_setup = client.get(reverse("portal:dashboard"))
    assert to_setup.status_code == 302
    assert to_setup["Location"].startswith(reverse("mfa_activate_totp"))

    # The set-up page itself, not "enter your password again".
    page = client.get(to_setup["Location"])
    assert page.status_code == 200, page.get("Location")
    assert b'name="next" value="/dashboard/"' in page.content

    done = client.post(
        reverse("mfa_activate_totp"),
        {"code": current_code(page.context["form"].secret), "next": "/dashboard/"},
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("portal:dashboard")
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    # Recovery codes were made, and the dashboard says where they are.
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()
    dashboard = client.get(done["Location"])
    assert dashboard.status_code == 200
    assert "Recovery codes" in dashboard.content.decode()


def test_a_wrong_code_keeps_where_the_set_up_continues(client):
    user = curator()
    sign_in(client, user)
    page = client.get(reverse("mfa_activate_totp") + "?next=/cases/")
    wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000", "next": "/cases/"})
    assert wrong.status_code == 200
    assert b'name="next" value="/cases/"' in wrong.content
    done = client.post(
        reverse("mfa_activate_totp"),
        {"code": current_code(page.context["form"].secret), "next": "/cases/"},
    )
    assert done["Location"] == "/cases/"


def test_set_up_without_next_or_with_a_foreign_next_goes_where_allauth_sends_it(client):
    user = curator()
    sign_in(client, user)
    page = client.get(reverse("mfa_activate_totp"))
    done = client.post(
        reverse("mfa_activate_totp"),
        {"code": current_code(page.context["form"].secret), "next": "https://evil.example/"},
    )
    assert done["Location"] == reverse("mfa_view_recovery_codes")


def test_signing_in_with_password_and_code_lands_on_the_dashboard(client):
    user = curator()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    response = sign_in(client, user)
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard")
    assert client.get(response["Location"]).status_code == 200


def test_signing_in_with_two_factor_honours_next(client):
    user = curator()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    sign_in(client, user, next_url="/cases/")
    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response["Location"] == "/cases/"


def test_the_password_is_asked_again_once_the_sign_in_is_no_longer_fresh(client):
    user = curator()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    sign_in(client, user)
    client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    # Right after signing in, a sensitive change needs no second password...
    assert client.get(reverse("mfa_deactivate_totp")).status_code == 200
    # ... but an hour later it does.
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {**record, "at": record["at"] - 3600}
        for record in session[AUTHENTICATION_METHODS_SESSION_KEY]
    ]
    session.save()
    response = client.get(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
