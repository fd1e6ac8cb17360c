"""The overlay of a check result (a PNG mask over the image's preview: where the blood or the glare
is), permission-checked like the core's image files: 404 for anyone who may not see the case,
streamed from local storage or redirected to a short-lived signed URL on object storage by the
core's own helper (imagebank.views.files.stored_file_response).

An overlay is drawn from the patient's image (it outlines parts of her cervix), so its reads are
audited as the image files' are (imagebank.read_audit): kind `check_overlay`, the result's id, its
case; registered in CurationConfig.ready().
"""

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from curation import selectors
from curation.models import CheckResult
from imagebank.read_audit import AuditedRead, Channel
from imagebank.views.files import file_reader, stored_file_response

access_log = logging.getLogger("imagebank.file_access")

OVERLAY_CONTENT_TYPE = "image/png"


def _case_of_result(pk: int) -> int | None:
    return CheckResult.objects.filter(pk=pk).values_list("case_id", flat=True).first()


# The audit's record of an overlay read (imagebank.read_audit.register_audited_read).
OVERLAY_READ = AuditedRead(
    "check_overlay", Channel.FILE, signed_redirect_is_read=True, case_of=_case_of_result
)


@require_safe
def check_overlay(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: selectors.overlay_result, the case must be visible to the user (404). Signed
    in or with an API token (`Authorization: Token …`), as the core's image files."""
    user, refused = file_reader(request)
    if refused is not None:
        return refused
    result = selectors.overlay_result(user, pk)
    if result is None:
        raise Http404("No such overlay.")
    access_log.info(
        "file access user=%s check_result=%s variant=overlay",
        user.pk,
        result.pk,
        extra={"user_id": user.pk, "check_result_id": result.pk, "variant": "overlay"},
    )
    return stored_file_response(
        result.overlay.name, OVERLAY_CONTENT_TYPE, f"check-{result.pk}-overlay.png"
    )
