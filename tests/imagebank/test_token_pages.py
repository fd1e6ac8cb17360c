"""The account's token page: list, create (shown once), revoke; the second factor it asks for."""

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from rest_framework.test import APIClient

from imagebank.models import ApiToken, ApiTokenEvent
from imagebank.services import tokens as token_services
from tests.factories import PASSWORD, make_contributor, make_user_with_role
from tests.roles import Role
from tests.totp import current_code, with_totp

pytestmark = pytest.mark.django_db

PAGE = "/account/tokens/"


def sign_in_with_code(client, user, secret: str) -> None:
    """The real sign-in: password, then the code (allauth records `mfa` in the session)."""
    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def create(client, name: str = "laptop", **extra):
    return client.post(PAGE, {"name": name, **extra})


def works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/cases/").status_code == 200


def test_the_page_is_the_named_route():
    assert reverse("imagebank:token-list") == PAGE


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert create(client).status_code == 302
    assert not ApiToken.objects.exists()


def test_a_contributor_creates_a_token_shown_once(client):
    user = make_contributor()
    client.force_login(user)
    response = create(client, "laptop", expires_in_days=30)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(owner=user)
    key = response.context["issued"].raw_key
    assert key.encode() in response.content
    assert token.name == "laptop" and not token.second_factor
    assert works(key)
    assert token.events.filter(kind=ApiTokenEvent.Kind.ISSUED, actor=user).exists()

    # Listed afterwards with its name and prefix, never its key.
    listing = client.get(PAGE)
    assert listing.status_code == 200
    assert key.encode() not in listing.content
    assert token.prefix.encode() in listing.content
    assert b"laptop" in listing.content


def test_the_page_lists_only_the_users_own_tokens(client):
    user, other = make_contributor(), make_contributor()
    token_services.issue_token(owner=user, name="my-laptop", second_factor=False)
    theirs = token_services.issue_token(owner=other, name="their-server", second_factor=False)
    client.force_login(user)
    content = client.get(PAGE).content
    assert b"my-laptop" in content
    assert b"their-server" not in content and theirs.token.prefix.encode() not in content


def test_the_owner_revokes_a_token_on_the_page_but_not_someone_elses(client):
    user, other = make_contributor(), make_contributor()
    mine = token_services.issue_token(owner=user, name="mine", second_factor=False)
    theirs = token_services.issue_token(owner=other, name="theirs", second_factor=False)
    client.force_login(user)

    refused = client.post(reverse("imagebank:token-revoke", args=[theirs.token.pk]))
    assert refused.status_code == 404
    assert works(theirs.raw_key)

    response = client.post(reverse("imagebank:token-revoke", args=[mine.token.pk]))
    assert response.status_code == 302 and response["Location"] == PAGE
    assert not works(mine.raw_key)
    mine.token.refresh_from_db()
    assert mine.token.revoked_by == user
    assert client.get(reverse("imagebank:token-revoke", args=[mine.token.pk])).status_code == 405


def test_bad_input_names_the_field(client, settings):
    client.force_login(make_contributor())
    response = create(client, "laptop", expires_in_days=settings.API_TOKEN_MAX_DAYS + 1)
    assert response.status_code == 400
    assert response.context["form"].errors["expires_in_days"]
    response = create(client, "")
    assert response.status_code == 400 and response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("role", [Role.CURATOR, Role.ACCESS_COMMITTEE])
def test_a_second_factor_role_without_it_set_up_is_sent_to_set_it_up(client, role):
    client.force_login(make_user_with_role(role))
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    assert create(client).status_code == 302
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("role", [Role.CURATOR, Role.ACCESS_COMMITTEE])
def test_a_session_that_did_not_give_the_code_cannot_create_a_token(client, role):
    user = make_user_with_role(role)
    with_totp(user)
    client.force_login(user)  # signed in without the code (as no real sign-in could)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert not page.context["may_create"]
    assert reverse("mfa_reauthenticate").encode() in page.content
    assert create(client).status_code == 403
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("role", [Role.CURATOR, Role.ACCESS_COMMITTEE])
def test_after_signing_in_with_the_code_a_token_is_created_with_the_second_factor(client, role):
    user = make_user_with_role(role)
    secret = with_totp(user)
    sign_in_with_code(client, user, secret)
    response = create(client)
    assert response.status_code == 200
    token = ApiToken.objects.get(owner=user)
    assert token.second_factor
    assert works(response.context["issued"].raw_key)


def test_giving_the_code_again_on_the_page_allows_creating(client):
    user = make_user_with_role(Role.CURATOR)
    secret = with_totp(user)
    client.force_login(user)
    assert create(client).status_code == 403
    response = client.post(
        reverse("mfa_reauthenticate") + f"?next={PAGE}", {"code": current_code(secret)}
    )
    assert response.status_code == 302 and response["Location"] == PAGE
    assert create(client).status_code == 200
    assert ApiToken.objects.get(owner=user).second_factor


def test_a_superuser_needs_the_code_on_the_page_too(client, admin_user):
    client.force_login(admin_user)
    assert create(client).status_code == 403
    assert not ApiToken.objects.exists()


def test_a_contributor_with_a_second_factor_set_up_must_have_given_it(client):
    user = make_contributor()
    secret = with_totp(user)
    client.force_login(user)
    assert create(client).status_code == 403
    client.logout()
    sign_in_with_code(client, user, secret)
    assert create(client).status_code == 200
    assert ApiToken.objects.get(owner=user).second_factor


def test_a_revoked_token_shows_as_revoked(client):
    user = make_contributor()
    issued = token_services.issue_token(owner=user, name="old", second_factor=False)
    token_services.revoke_token(token=issued.token, actor=user)
    client.force_login(user)
    content = client.get(PAGE).content.decode()
    assert "revoked" in content
    assert f'action="{reverse("imagebank:token-revoke", args=[issued.token.pk])}"' not in content
