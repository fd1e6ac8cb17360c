"""API tokens: who gets one, with which second factor, and the caller's own tokens on the API.

The authorisation matrix covers every role (contributor, reviewer, curator, access committee,
researcher, superuser), with and without two-factor authentication set up, with no code, a wrong
code and a right one. The life cycle (revocation, expiry, password changes, audit) is in
test_token_life_cycle.py.
"""

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from axes.exceptions import AxesBackendPermissionDenied
from rest_framework.test import APIClient

from imagebank.models import ApiToken
from imagebank.services import sites as site_services
from imagebank.services import tokens as token_services
from tests.factories import (
    UserFactory,
)
from tests.imagebank.token_support import (
    CASES,
    ROLES,
    SECOND_FACTOR_ROLES,
    TOKENS,
    api,
    ask_token,
    files_status,
    make_user,
    processed_image_of_a_case,
    works,
    wrong_code,
)
from tests.roles import Role
from tests.totp import current_code, with_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def processed_image(django_capture_on_commit_callbacks, local_storage):
    return processed_image_of_a_case(django_capture_on_commit_callbacks)


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
        extra["otp"] = current_code(secret)

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
    assert ask_token(staff.email, otp=current_code(secret)).status_code == 200


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
    code = current_code(secret)
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
    locked = ask_token(user.email, otp=current_code(secret))
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
