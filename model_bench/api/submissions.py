"""Submissions through the API, for scripts and `imagebank submit` (docs/benchmarks.md):

- `POST /api/benchmarks/{task}/submissions/` (multipart: `file`, `title`, optional `group` and
  the model card's fields): 201 with the submission, `received`; 403 for a user not named on a
  live grant of the task's version; 400 naming the field for a title, size, card or limit refused.
  The file's content is checked by the worker: poll the submission until it is `scored` or
  `invalid` (its `errors`: row, column, message).
- `GET /api/benchmarks/{task}/submissions/{id}/`: one submission, for its group's accessors and
  curators (404 for anyone else, so that ids say nothing).

Signed in with an API token (`Authorization: Token …`) or a session.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from imagebank.api.base import BankAPIMixin
from imagebank.api.schema import errors
from model_bench import selectors
from model_bench.api.serializers import SubmissionCreateSerializer, SubmissionSerializer
from model_bench.models import Submission
from model_bench.services import submissions

TAGS = ["benchmarks"]
LEVEL_KEYS = ("level", "n_test", "n_cases", "metrics", "confusion_matrix")


def submission_json(request: Request, submission: Submission) -> dict:
    slug = submission.task.slug
    return {
        "id": submission.pk,
        "task": slug,
        "title": submission.title,
        "group": submission.group_name,
        "kind": submission.kind,
        "state": submission.state,
        "created_at": submission.created_at,
        "finished_at": submission.finished_at,
        "errors": submission.errors or [],
        "failure": submission.failure,
        "results": [
            {key: row.get(key) for key in LEVEL_KEYS}
            for row in (submission.results or {}).get("rows", [])
        ],
        "pictures": {
            name: request.build_absolute_uri(
                reverse("model_bench:submission-picture", args=[slug, submission.pk, name])
            )
            for name in selectors.PICTURES
            if name in (submission.pictures or {})
        },
        "model_card": submission.model_card or {},
        "url": request.build_absolute_uri(
            reverse("model_bench_api:submission", args=[slug, submission.pk])
        ),
        "page": request.build_absolute_uri(
            reverse("model_bench:submission", args=[slug, submission.pk])
        ),
    }


def _task_or_404(slug: str):
    task = selectors.task_by_slug(slug)
    if task is None:
        raise NotFound()
    return task


class SubmissionCreateView(BankAPIMixin, APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=TAGS,
        operation_id="benchmarks_submit",
        request={"multipart/form-data": SubmissionCreateSerializer},
        responses={201: SubmissionSerializer, **errors(400, 401, 403, 404)},
        description=_(
            "Submit a predictions CSV (a ZIP of mask PNGs for segmentation) or an ONNX model "
            "to a task, for a group holding a live grant on its "
            "release version. The worker checks and scores it: poll the submission's url."
        ),
    )
    def post(self, request: Request, task: str) -> Response:
        found = _task_or_404(task)
        incoming = SubmissionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        upload = data["file"]
        submission = submissions.submit(
            task=found, user=request.user, data=submissions.read_upload(found, upload),
            file_name=upload.name, title=data["title"], group_key=data.get("group") or "",
            kind=data.get("kind") or "",
            model_card={name: data.get(name) for name in submissions.MODEL_CARD_FIELDS},
        )  # fmt: skip
        return Response(SubmissionSerializer(submission_json(request, submission)).data, status=201)


class SubmissionDetailView(BankAPIMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        operation_id="benchmarks_submission",
        responses={200: SubmissionSerializer, **errors(401, 404)},
        description=_(
            "One submission: its state, errors (row, column, message) when invalid, every "
            "metric with its 95% bootstrap interval at each level when scored, its pictures."
        ),
    )
    def get(self, request: Request, task: str, id: int) -> Response:
        found = _task_or_404(task)
        submission = selectors.submission_for(request.user, found, id)
        if submission is None:
            raise NotFound()
        return Response(SubmissionSerializer(submission_json(request, submission)).data)
