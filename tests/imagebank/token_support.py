"""What the token tests share: users of each role, TOTP codes, asking for a token, using one."""

from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from imagebank.models import User
from tests.factories import (
    PASSWORD,
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role
from tests.totp import current_code

TOKEN_URL = "/api/auth/token/"
TOKENS = "/api/tokens/"
CASES = "/api/cases/"

ROLES = ["contributor", "reviewer", "curator", "access_committee", "researcher", "superuser"]
SECOND_FACTOR_ROLES = {"curator", "access_committee", "superuser"}


def make_user(role: str) -> User:
    if role == "contributor":
        return make_contributor()
    if role == "superuser":
        return User.objects.create_superuser(f"root{User.objects.count()}@example.org", PASSWORD)
    return make_user_with_role(getattr(Role, role.upper()))


def wrong_code(secret: str | None) -> str:
    right = current_code(secret) if secret else "000000"
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


def processed_image_of_a_case(capture_on_commit_callbacks):
    """An image of a case at a site, readable by the curators and superusers of the matrix."""
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, contributor)
    with capture_on_commit_callbacks(execute=True):
        [image, *_rest] = add_core_images(case, contributor)
    return image


def files_status(key: str, image) -> int:
    url = reverse("imagebank:image-file", args=[image.pk, "thumbnail"])
    return Client().get(url, HTTP_AUTHORIZATION=f"Token {key}").status_code
