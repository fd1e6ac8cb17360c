"""Permission-checked, logged access to stored image files.

Private files never get a public URL. These views check that the image is visible to the user
(imagebank.selectors.images_for_user), log the access, and then stream the local file or, on
object storage, redirect to a short-lived signed URL.
"""

import logging

from django.contrib.auth.views import redirect_to_login
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_safe
from rest_framework.exceptions import AuthenticationFailed

from imagebank import selectors, storage
from imagebank.authentication import ApiTokenAuthentication
from imagebank.models import Image

access_log = logging.getLogger("imagebank.file_access")

VARIANTS = ("original", "preview", "thumbnail")
# Derived files are always JPEG; originals keep the content type recorded at ingest.
_DERIVED_CONTENT_TYPE = "image/jpeg"


def _user_from_token(request: HttpRequest):
    """The user behind an `Authorization: Token …` header, so API clients can follow the URLs
    the API returns without a session. None when there is no such header; AuthenticationFailed
    for a token that is unknown, revoked, expired, of an inactive user, older than the password,
    or issued without the second factor the owner's role needs (imagebank.services.tokens)."""
    result = ApiTokenAuthentication().authenticate(request)
    return result[0] if result else None


def file_reader(request: HttpRequest):
    """(user, None) for the reader of a file URL, signed in or sending `Authorization: Token …`;
    (None, response) where there is neither (a redirect to sign in) or the token is refused (401).
    Every view that serves a stored file of a case (the apps' too: curation's check overlays)
    reads its user through this, so API clients follow the file URLs the API returns."""
    if request.user.is_authenticated:
        return request.user, None
    try:
        token_user = _user_from_token(request)
    except AuthenticationFailed as error:
        return None, HttpResponse(str(error.detail), status=401, content_type="text/plain")
    if token_user is None:
        return None, redirect_to_login(request.get_full_path())
    return token_user, None


def _stored_file(image: Image, variant: str) -> tuple[str, str]:
    if variant == "original":
        return image.file.name, image.content_type
    key = getattr(image, variant).name
    if not key:
        raise Http404("Not processed yet.")
    return key, _DERIVED_CONTENT_TYPE


@require_safe
def image_file(request: HttpRequest, pk: int, variant: str) -> HttpResponse:
    user, refused = file_reader(request)
    if refused is not None:
        return refused
    if variant not in VARIANTS:
        raise Http404("Unknown file variant.")
    # Images of cases the user may not see are indistinguishable from missing ones.
    image = selectors.images_for_user(user).filter(pk=pk).first()
    if image is None:
        raise Http404("No such image.")
    key, content_type = _stored_file(image, variant)

    access_log.info(
        "file access user=%s image=%s variant=%s",
        user.pk,
        image.pk,
        variant,
        extra={"user_id": user.pk, "image_id": image.pk, "variant": variant},
    )

    extension = key.rsplit(".", 1)[-1]
    # A neutral name: the contributor's own file name may carry identifying text.
    return stored_file_response(key, content_type, f"image-{image.pk}-{variant}.{extension}")


def stored_file_response(key: str, content_type: str, filename: str) -> HttpResponse:
    """The answer that hands a private stored file to a user the caller has checked: a redirect
    to a short-lived signed URL on object storage, else the file streamed inline (404 if it is
    missing). For the file views of the apps above the core too."""
    signed = storage.signed_url(key)
    if signed:
        response = HttpResponseRedirect(signed)
        # The signed URL expires in seconds; never let a cache replay the redirect.
        response["Cache-Control"] = "private, no-store"
        return response

    try:
        handle = default_storage.open(key, "rb")
    except FileNotFoundError as error:
        raise Http404("The stored file is missing.") from error
    # FileResponse says `inline` unless as_attachment is set.
    response = FileResponse(handle, content_type=content_type, filename=filename)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    response["Vary"] = "Cookie, Authorization"
    return response
