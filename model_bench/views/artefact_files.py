"""A benchmark job's artefact (weights, ONNX export, configuration, metrics, training curves),
served from private storage by the bank.

Permission: model_bench.selectors.can_download_artefacts (curators, and users allowed to
download the task's release version), asked on every request. Signed in or with an API token
(`Authorization: Token …`, through imagebank.views.files.file_reader, as the bank's other
files): anonymous visitors are sent to sign in, a user without the permission gets 403, a job
or an artefact that is not there 404. Every download is logged before the bytes go. The curves'
picture is shown inline (the job's page shows it); everything else is an attachment.
"""

import logging

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from imagebank import storage
from imagebank.permissions import require
from imagebank.views.files import file_reader
from model_bench import selectors
from model_bench.views.job_pages import CURVES, job_or_404

access_log = logging.getLogger("model_bench.artefacts")

INLINE = frozenset({CURVES})


@require_safe
def artefact_file(request: HttpRequest, slug: str, pk: int, name: str) -> HttpResponse:
    user, refused = file_reader(request)
    if refused is not None:
        return refused
    job = job_or_404(slug, pk)
    require(
        selectors.can_download_artefacts(user, job),
        _("Only curators and those allowed to download the task's release download its artefacts."),
    )
    artefact = selectors.artefact_for(user, job, name)
    if artefact is None or not default_storage.exists(artefact.storage_key):
        raise Http404(_("This job has no such artefact."))
    if request.method != "HEAD":
        access_log.info(
            "artefact download user=%s job=%s name=%s",
            user.pk,
            job.pk,
            artefact.name,
            extra={"user_id": user.pk, "job_id": job.pk, "artefact": artefact.name},
        )
        response = StreamingHttpResponse(
            storage.stream_chunks(artefact.storage_key), content_type=artefact.content_type
        )
    else:
        response = HttpResponse(content_type=artefact.content_type)
    disposition = "inline" if artefact.name in INLINE else "attachment"
    filename = f"{job.task.slug}-job{job.pk}-{artefact.name}".replace('"', "")
    response["Content-Length"] = str(artefact.bytes)
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["ETag"] = f'"{artefact.sha256}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Vary"] = "Cookie, Authorization"
    return response
