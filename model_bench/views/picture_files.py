"""The pictures of a scored submission (its ROC curve and confusion matrix), public as its
board entry is: aggregates of the test split, never a test image or label. Served inline from
private storage, with nosniff."""

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from imagebank import storage
from model_bench import selectors
from model_bench.views.task_pages import public_task_or_404


@require_safe
def submission_picture(request: HttpRequest, slug: str, pk: int, name: str):
    task = public_task_or_404(slug)
    picture = selectors.submission_picture(task, pk, name)
    if picture is None or not default_storage.exists(picture["key"]):
        raise Http404(_("This submission has no such picture."))
    response = StreamingHttpResponse(
        storage.stream_chunks(picture["key"]), content_type="image/png"
    )
    response["Content-Length"] = str(picture["bytes"])
    response["Content-Disposition"] = f'inline; filename="{task.slug}-submission{pk}-{name}.png"'
    response["ETag"] = f'"{picture["sha256"]}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=3600"
    return response
