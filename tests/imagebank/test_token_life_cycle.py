"""API tokens' life cycle: revoked, expired, pre-password-change and deactivated owners' tokens
are refused on the API and on the file views; the key is stored only hashed; issue and use are
audited.
"""

import hashlib
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.db import models
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from imagebank.models import ApiToken, ApiTokenEvent, User
from imagebank.services import tokens as token_services
from tests.factories import (
    PASSWORD,
)
from tests.imagebank.token_support import (
    CASES,
    api,
    ask_token,
    files_status,
    make_user,
    processed_image_of_a_case,
    works,
)
from tests.totp import current_code, with_totp

pytestmark = pytest.mark.django_db


# --- life cycle -----------------------------------------------------------------------------------


@pytest.fixture
def processed_image(django_capture_on_commit_callbacks, local_storage):
    return processed_image_of_a_case(django_capture_on_commit_callbacks)


@pytest.fixture
def curator_key():
    user = make_user("curator")
    with_totp(user)
    return user, token_services.issue_token(owner=user, name="cli", second_factor=True).raw_key


def test_a_revoked_token_is_refused_on_the_api_and_the_files(curator_key, processed_image):
    user, key = curator_key
    assert works(key) and files_status(key, processed_image) == 200
    token = ApiToken.objects.get(owner=user)
    token_services.revoke_token(token=token, actor=user)
    assert not works(key)
    assert "revoked" in api(key).get(CASES).json()["detail"]
    assert files_status(key, processed_image) == 401
    assert token.events.filter(kind=ApiTokenEvent.Kind.REFUSED, detail="revoked").exists()


def test_an_expired_token_is_refused_on_the_api_and_the_files(curator_key, processed_image):
    user, key = curator_key
    now = timezone.now()
    ApiToken.objects.filter(owner=user).update(
        created_at=now - timedelta(days=91), expires_at=now - timedelta(seconds=1)
    )
    assert not works(key)
    assert "expired" in api(key).get(CASES).json()["detail"]
    assert files_status(key, processed_image) == 401


def test_a_password_change_revokes_every_token(curator_key, processed_image):
    user, key = curator_key
    other = token_services.issue_token(owner=user, name="second", second_factor=True).raw_key
    user.set_password("a-new-password-2026")
    user.save()
    assert not works(key) and not works(other)
    assert files_status(key, processed_image) == 401
    assert set(ApiToken.objects.filter(owner=user).values_list("revoked_reason", flat=True)) == {
        token_services.REASON_PASSWORD_CHANGED
    }
    # A token issued after the change works.
    new = token_services.issue_token(owner=user, name="after", second_factor=True).raw_key
    assert works(new)


def test_a_token_from_before_a_password_change_that_bypassed_the_signals_is_refused(
    curator_key, processed_image
):
    user, key = curator_key
    User.objects.filter(pk=user.pk).update(password=make_password("changed-behind-its-back"))
    assert not works(key)
    assert "password" in api(key).get(CASES).json()["detail"]
    assert files_status(key, processed_image) == 401


def test_a_password_changed_on_the_account_page_revokes_tokens(client):
    user = make_user("contributor")
    key = token_services.issue_token(owner=user, name="cli", second_factor=False).raw_key
    client.force_login(user)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "A-new-pass-2026!", "password2": "A-new-pass-2026!"},
    )
    assert response.status_code == 302, response.content[:500]
    assert not works(key)


def test_a_password_reset_revokes_tokens():
    from allauth.account.internal.flows.password_reset import reset_password

    user = make_user("contributor")
    key = token_services.issue_token(owner=user, name="cli", second_factor=False).raw_key
    reset_password(user, "A-reset-pass-2026!")
    assert not works(key)


def test_a_password_set_in_the_admin_revokes_tokens(admin_client):
    user = make_user("contributor")
    key = token_services.issue_token(owner=user, name="cli", second_factor=False).raw_key
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = admin_client.post(
        url,
        {"password1": "Admin-set-2026!", "password2": "Admin-set-2026!", "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:800]
    assert not works(key)


def test_a_password_hash_upgrade_is_not_a_password_change(settings):
    user = make_user("contributor")  # hashed with MD5 (tests/conftest.py)
    key = token_services.issue_token(owner=user, name="cli", second_factor=False).raw_key
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert authenticate(RequestFactory().post("/"), email=user.email, password=PASSWORD) is not None
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha1$")  # Django upgraded the hash on sign-in
    assert works(key)
    assert not ApiToken.objects.filter(owner=user, revoked_at__isnull=False).exists()


def test_deactivating_the_account_revokes_its_tokens(curator_key):
    user, key = curator_key
    user.is_active = False
    user.save()
    assert not works(key)
    assert ApiToken.objects.get(owner=user).revoked_reason == token_services.REASON_DEACTIVATED
    # Back in service, the old token stays dead.
    user.is_active = True
    user.save()
    assert not works(key)


def test_an_inactive_owners_token_is_refused_even_without_the_signal(curator_key, processed_image):
    user, key = curator_key
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert not works(key)
    assert files_status(key, processed_image) == 401


def test_removing_the_last_second_factor_revokes_the_tokens_issued_with_it(client):
    from allauth.mfa.base.internal.flows import delete_and_cleanup

    user = make_user("contributor")
    with_totp(user)
    key = token_services.issue_token(owner=user, name="cli", second_factor=True).raw_key
    plain = token_services.issue_token(owner=user, name="old", second_factor=False).raw_key
    request = type("R", (), {"user": user})()
    delete_and_cleanup(request, Authenticator.objects.get(user=user))
    assert not works(key)
    assert works(plain)  # a contributor's token never stood on the second factor


def test_unknown_and_malformed_keys_are_401():
    for key in ["0" * 40, "ib_zzzzzzzzzzzz_" + "a" * 43, "ib_0123456789ab_" + "a" * 43]:
        assert api(key).get(CASES).status_code == 401
    response = APIClient().get(CASES, HTTP_AUTHORIZATION="Token a b")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_forged_secret_with_a_real_prefix_is_refused(curator_key):
    user, key = curator_key
    forged = key[: key.rindex("_") + 1] + "x" * 43
    assert not works(forged)
    assert works(key)


# --- storage and audit ----------------------------------------------------------------------------


def test_the_raw_key_is_never_stored():
    user = make_user("curator")
    secret = with_totp(user)
    response = ask_token(user.email, otp=current_code(secret))
    key = response.json()["token"]
    secret_part = key.rsplit("_", 1)[-1]
    token = ApiToken.objects.get(owner=user)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    for model in apps.get_models():
        text_fields = [
            f.name
            for f in model._meta.get_fields()
            if isinstance(f, models.CharField | models.TextField) and f.concrete
        ]
        for name in text_fields:
            assert not model.objects.filter(**{f"{name}__contains": secret_part[:20]}).exists(), (
                model,
                name,
            )


def test_issue_and_use_are_audited_without_a_row_per_request(settings):
    settings.API_TOKEN_USE_AUDIT_MINUTES = 15
    user = make_user("contributor")
    response = ask_token(user.email, name="cli")
    key = response.json()["token"]
    token = ApiToken.objects.get(owner=user)
    issued = token.events.get(kind=ApiTokenEvent.Kind.ISSUED)
    assert (issued.actor, issued.address) == (user, "127.0.0.1")

    for _ in range(5):
        assert works(key)
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_from == "127.0.0.1"
    assert token.events.filter(kind=ApiTokenEvent.Kind.USED).count() == 1

    # From another address: one more row; last_used_* always follow.
    client = APIClient(REMOTE_ADDR="10.1.2.3")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(CASES).status_code == 200
    token.refresh_from_db()
    assert token.last_used_from == "10.1.2.3"
    used = token.events.filter(kind=ApiTokenEvent.Kind.USED)
    assert sorted(used.values_list("address", flat=True)) == ["10.1.2.3", "127.0.0.1"]


def test_with_no_window_every_use_is_a_row(settings):
    settings.API_TOKEN_USE_AUDIT_MINUTES = 0
    user = make_user("contributor")
    key = token_services.issue_token(owner=user, name="cli", second_factor=False).raw_key
    for _ in range(3):
        assert works(key)
    assert ApiTokenEvent.objects.filter(kind=ApiTokenEvent.Kind.USED).count() == 3


def test_revocations_are_audited_with_actor_and_reason():
    user = make_user("contributor")
    issued = token_services.issue_token(owner=user, name="cli", second_factor=False)
    token_services.revoke_token(token=issued.token, actor=user)
    event = issued.token.events.get(kind=ApiTokenEvent.Kind.REVOKED)
    assert (event.actor, event.detail) == (user, token_services.REASON_OWNER)
    # Revoking again changes nothing and writes nothing.
    assert token_services.revoke_token(token=issued.token, actor=user) is False
    assert issued.token.events.filter(kind=ApiTokenEvent.Kind.REVOKED).count() == 1
