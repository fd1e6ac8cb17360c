"""API tokens: who gets one, with which second factor, and when a token stops working.

The authorisation matrix covers every role (contributor, reviewer, curator, access committee,
researcher, superuser), with and without two-factor authentication set up, with no code, a wrong
code and a right one. Then the life cycle: revoked, expired, pre-password-change and deactivated
owners' tokens are refused on the API and on the file views; the key is stored only hashed; issue
and use are audited.
"""

import hashlib
import time
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from axes.exceptions import AxesBackendPermissionDenied
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import models
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from imagebank.models import ApiToken, ApiTokenEvent, User
from imagebank.services import sites as site_services
from imagebank.services import tokens as token_services
from tests.factories import (
    PASSWORD,
    UserFactory,
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"
TOKENS = "/api/tokens/"
CASES = "/api/cases/"

ROLES = ["contributor", "reviewer", "curator", "access_committee", "researcher", "superuser"]
SECOND_FACTOR_ROLES = {"curator", "access_committee", "superuser"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    # allauth remembers used TOTP codes, axes its counts, the token audit its windows: per test.
    cache.clear()
    yield
    cache.clear()


def make_user(role: str) -> User:
    if role == "contributor":
        return make_contributor()
    if role == "superuser":
        return User.objects.create_superuser(f"root{User.objects.count()}@example.org", PASSWORD)
    return make_user_with_role(getattr(Role, role.upper()))


def with_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def wrong_code(secret: str | None) -> str:
    right = code_for(secret) if secret else "000000"
    return f"{(int(right) + 1) % 1_000_000:06d}"


def ask_token(email: str, password: str = PASSWORD, **extra):
    return APIClient().post(
        TOKEN_URL, {"email": email, "password": password, **extra}, format="json"
    )


def api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    status = api(key).get(CASES).status_code
    assert status in (200, 401), status
    return status == 200


# --- the authorisation matrix: creation on POST /api/auth/token/ ----------------------------------


def _matrix():
    for role in ROLES:
        for has_totp in (False, True):
            for code in ("none", "wrong", "right"):
                if code == "right" and not has_totp:
                    continue
                yield role, has_totp, code


@pytest.mark.parametrize(("role", "has_totp", "code"), list(_matrix()))
def test_token_endpoint_matrix(role, has_totp, code):
    user = make_user(role)
    secret = with_totp(user) if has_totp else None
    extra = {}
    if code == "wrong":
        extra["otp"] = wrong_code(secret)
    elif code == "right":
        extra["otp"] = code_for(secret)

    response = ask_token(user.email, **extra)
    body = response.json()

    if role in SECOND_FACTOR_ROLES and not has_totp:
        # Told to set it up on the site; nothing issued, whatever code was sent.
        assert response.status_code == 403, body
        assert "two-factor" in body["detail"]
        assert not ApiToken.objects.filter(owner=user).exists()
    elif has_totp and code != "right":
        # A user with a second factor, of any role, must give it: 400 naming `otp`.
        assert response.status_code == 400, body
        assert "otp" in body and "token" not in body
        assert not ApiToken.objects.filter(owner=user).exists()
    else:
        assert response.status_code == 200, body
        key = body["token"]
        assert works(key)
        token = ApiToken.objects.get(owner=user)
        assert token.second_factor is has_totp
        assert body["second_factor"] is has_totp
        assert body["prefix"] == token.prefix and key.startswith(token.prefix + "_")


@pytest.mark.parametrize("role", sorted(SECOND_FACTOR_ROLES))
def test_no_token_of_a_second_factor_role_works_without_the_second_factor(role, processed_image):
    user = make_user(role)
    with_totp(user)
    # However it came about (issued before the user got the role, an older release), a token
    # without the second factor is refused for these roles: on the API and on the file views.
    issued = token_services.issue_token(owner=user, name="old", second_factor=True)
    ApiToken.objects.filter(pk=issued.token.pk).update(second_factor=False)
    key = issued.raw_key
    assert not works(key)
    response = api(key).get(CASES)
    assert "two-factor" in response.json()["detail"]
    assert files_status(key, processed_image) == 401
    # With the second factor, the same role reads every site's cases and files.
    good = token_services.issue_token(owner=user, name="new", second_factor=True).raw_key
    assert works(good)
    # Curators and superusers read every case's files; the committee is signed in but not shown
    # case images (a 404, as for anything not visible).
    assert files_status(good, processed_image) == (404 if role == "access_committee" else 200)


@pytest.mark.parametrize("role", ["contributor", "reviewer", "researcher"])
def test_other_roles_tokens_work_without_a_second_factor(role):
    user = make_user(role)
    key = token_services.issue_token(owner=user, name="script", second_factor=False).raw_key
    assert works(key)


def test_the_service_refuses_to_issue_without_the_second_factor_a_role_needs():
    from django.core.exceptions import PermissionDenied

    for role in SECOND_FACTOR_ROLES:
        with pytest.raises(PermissionDenied):
            token_services.issue_token(owner=make_user(role), name="x", second_factor=False)


def test_a_staff_member_needs_the_second_factor_too():
    staff = UserFactory(is_staff=True)
    assert ask_token(staff.email).status_code == 403
    secret = with_totp(staff)
    assert ask_token(staff.email).status_code == 400
    assert ask_token(staff.email, otp=code_for(secret)).status_code == 200


def test_a_token_stops_working_when_its_owner_gets_a_second_factor_role():
    user = make_user("reviewer")
    key = token_services.issue_token(owner=user, name="script", second_factor=False).raw_key
    assert works(key)
    site_services.grant_role(user=user, role=Role.CURATOR)
    assert not works(key)


# --- the code: TOTP, recovery codes, replay, limits -----------------------------------------------


def test_a_totp_code_is_good_once():
    user = make_user("curator")
    secret = with_totp(user)
    code = code_for(secret)
    assert ask_token(user.email, otp=code).status_code == 200
    again = ask_token(user.email, otp=code)
    assert again.status_code == 400 and "otp" in again.json()


def test_a_recovery_code_works_once():
    user = make_user("access_committee")
    with_totp(user)
    recovery = RecoveryCodes.activate(user)
    code = recovery.get_unused_codes()[0]
    response = ask_token(user.email, otp=code)
    assert response.status_code == 200
    assert ApiToken.objects.get(owner=user).second_factor
    assert ask_token(user.email, otp=code).status_code == 400
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    assert code not in authenticator.wrap().get_unused_codes()


def test_wrong_codes_count_as_failed_sign_ins_until_the_account_locks(settings):
    user = make_user("curator")
    secret = with_totp(user)
    statuses = [
        ask_token(user.email, otp=wrong_code(secret)).status_code
        for _ in range(getattr(settings, "LOGIN_FAILURE_LIMIT", 10) + 1)
    ]
    assert statuses[0] == 400
    # The shared sign-in limit (django-axes) counts each wrong code: the account locks, and then
    # even the right code with the right password gets no token.
    assert statuses[-1] in (403, 429)
    locked = ask_token(user.email, otp=code_for(secret))
    assert locked.status_code in (403, 429)
    assert locked["Content-Type"].startswith("application/json")
    assert not ApiToken.objects.filter(owner=user).exists()


def test_a_lockout_from_authenticate_is_a_json_refusal_not_a_500(monkeypatch):
    user = make_user("contributor")

    def locked(request, **credentials):
        raise AxesBackendPermissionDenied("Account locked: too many login attempts.")

    monkeypatch.setattr("imagebank.api.auth.authenticate", locked)
    response = ask_token(user.email)
    assert response.status_code in (403, 429)
    assert "detail" in response.json()


def test_a_wrong_password_is_400_and_issues_nothing():
    user = make_user("contributor")
    response = ask_token(user.email, password="not-it")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not ApiToken.objects.exists()


def test_the_token_endpoint_validates_name_and_expiry(settings):
    user = make_user("contributor")
    bad = ask_token(user.email, expires_in_days=settings.API_TOKEN_MAX_DAYS + 1)
    assert bad.status_code == 400 and "expires_in_days" in bad.json()
    assert ask_token(user.email, expires_in_days=0).status_code == 400
    assert "name" in ask_token(user.email, name="x" * 101).json()
    good = ask_token(user.email, name="laptop", expires_in_days=7)
    assert good.status_code == 200
    token = ApiToken.objects.get(owner=user)
    assert token.name == "laptop"
    assert abs((token.expires_at - token.created_at) - timedelta(days=7)) < timedelta(seconds=1)


def test_a_misspelt_field_is_refused_not_ignored():
    user = make_user("contributor")
    answer = ask_token(user.email, expires_in_day=7)
    assert answer.status_code == 400
    assert answer.json() == {"expires_in_day": ["Unknown field."]}
    assert not ApiToken.objects.filter(owner=user).exists()
    api_client = APIClient()
    api_client.force_authenticate(user)
    answer = api_client.post(TOKENS, {"name": "laptop", "colour": "blue"}, format="json")
    assert answer.status_code == 400 and "colour" in answer.json()


def test_the_default_expiry_comes_from_the_setting(settings):
    settings.API_TOKEN_DEFAULT_DAYS = 30
    user = make_user("contributor")
    assert ask_token(user.email).status_code == 200
    token = ApiToken.objects.get(owner=user)
    assert token.expires_at - token.created_at == timedelta(days=30)


def test_each_request_issues_a_new_named_token():
    user = make_user("contributor")
    first = ask_token(user.email, name="laptop").json()["token"]
    second = ask_token(user.email, name="server").json()["token"]
    assert first != second
    assert works(first) and works(second)
    assert sorted(ApiToken.objects.filter(owner=user).values_list("name", flat=True)) == [
        "laptop",
        "server",
    ]


def test_a_user_holds_at_most_the_configured_number_of_active_tokens(settings):
    settings.API_TOKEN_MAX_ACTIVE = 2
    user = make_user("contributor")
    assert ask_token(user.email).status_code == 200
    assert ask_token(user.email).status_code == 200
    refused = ask_token(user.email)
    assert refused.status_code == 400
    token = ApiToken.objects.filter(owner=user).first()
    token_services.revoke_token(token=token, actor=user)
    assert ask_token(user.email).status_code == 200


# --- life cycle -----------------------------------------------------------------------------------


@pytest.fixture
def processed_image(django_capture_on_commit_callbacks, local_storage):
    """An image of a case at a site, readable by the curators and superusers of the matrix."""
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, contributor)
    with django_capture_on_commit_callbacks(execute=True):
        [image, *_rest] = add_core_images(case, contributor)
    return image


def files_status(key: str, image) -> int:
    url = reverse("imagebank:image-file", args=[image.pk, "thumbnail"])
    return Client().get(url, HTTP_AUTHORIZATION=f"Token {key}").status_code


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
    response = ask_token(user.email, otp=code_for(secret))
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


# --- the caller's tokens on the API ---------------------------------------------------------------


def test_the_api_lists_only_the_callers_tokens_and_never_a_secret():
    user, other = make_user("contributor"), make_user("contributor")
    mine = token_services.issue_token(owner=user, name="mine", second_factor=False)
    token_services.issue_token(owner=other, name="theirs", second_factor=False)
    response = api(mine.raw_key).get(TOKENS)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["name"] for row in results] == ["mine"]
    assert "token" not in results[0] and "key_hash" not in results[0]
    assert mine.raw_key not in response.content.decode()
    assert results[0]["prefix"] == mine.token.prefix


def test_the_owner_revokes_a_token_on_the_api_but_not_someone_elses():
    user, other = make_user("contributor"), make_user("contributor")
    mine = token_services.issue_token(owner=user, name="mine", second_factor=False)
    spare = token_services.issue_token(owner=user, name="spare", second_factor=False)
    theirs = token_services.issue_token(owner=other, name="theirs", second_factor=False)

    assert api(mine.raw_key).delete(f"{TOKENS}{theirs.token.pk}/").status_code == 404
    assert works(theirs.raw_key)

    assert api(mine.raw_key).delete(f"{TOKENS}{spare.token.pk}/").status_code == 204
    assert not works(spare.raw_key)
    assert works(mine.raw_key)
    assert api(mine.raw_key).delete(f"{TOKENS}{mine.token.pk}/").status_code == 204
    assert not works(mine.raw_key)


def test_anonymous_callers_get_401_on_the_token_list():
    assert APIClient().get(TOKENS).status_code == 401
    assert APIClient().post(TOKENS, {"name": "x"}, format="json").status_code == 401


def test_creating_a_token_with_a_token_needs_one_issued_after_the_second_factor():
    contributor = make_user("contributor")
    key = token_services.issue_token(owner=contributor, name="a", second_factor=False).raw_key
    response = api(key).post(TOKENS, {"name": "b", "expires_in_days": 5}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert works(body["token"]) and body["second_factor"] is False

    # A contributor who has set up two-factor: a token issued without it may not make more.
    with_totp(contributor)
    assert api(key).post(TOKENS, {"name": "c"}, format="json").status_code == 403

    curator = make_user("curator")
    with_totp(curator)
    strong = token_services.issue_token(owner=curator, name="a", second_factor=True).raw_key
    created = api(strong).post(TOKENS, {"name": "b"}, format="json")
    assert created.status_code == 201
    assert works(created.json()["token"])
    assert ApiToken.objects.get(owner=curator, name="b").second_factor


def test_creating_a_token_on_the_api_validates_its_fields(settings):
    user = make_user("contributor")
    key = token_services.issue_token(owner=user, name="a", second_factor=False).raw_key
    assert "name" in api(key).post(TOKENS, {}, format="json").json()
    too_long = api(key).post(
        TOKENS, {"name": "b", "expires_in_days": settings.API_TOKEN_MAX_DAYS + 1}, format="json"
    )
    assert too_long.status_code == 400 and "expires_in_days" in too_long.json()
    not_a_number = api(key).post(TOKENS, {"name": "b", "expires_in_days": "soon"}, format="json")
    assert not_a_number.status_code == 400 and "expires_in_days" in not_a_number.json()


@pytest.mark.parametrize("role", sorted(SECOND_FACTOR_ROLES))
def test_a_session_without_the_second_factor_cannot_create_a_token_on_the_api(role):
    user = make_user(role)
    with_totp(user)
    client = APIClient()
    client.force_login(user)  # signed in, but this session never gave the code
    response = client.post(TOKENS, {"name": "x"}, format="json")
    assert response.status_code == 403
    assert not ApiToken.objects.filter(owner=user).exists()


def test_a_token_id_that_cannot_be_one_is_a_404_not_a_500():
    user = make_user("contributor")
    key = token_services.issue_token(owner=user, name="a", second_factor=False).raw_key
    for sent in ["99999999999999999999", "0", "abc", "%C2%B2", "-1"]:
        response = api(key).delete(f"{TOKENS}{sent}/")
        assert response.status_code == 404, (sent, response.status_code)
    assert works(key)
