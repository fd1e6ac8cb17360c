"""The public benchmark API (docs/benchmarks.md), read-only, open to anyone:

- `GET /api/benchmarks/` the tasks on published release versions, with their leader;
- `GET /api/benchmarks/{task}/leaderboard/` a task's board: every shown entry with its rank, the
  primary metric and its 95% interval, whether that interval overlaps the leader's, and the
  model card. An unknown task is a 404.

Aggregates only (model_bench.selectors): never a test image, nor a test label.
"""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from imagebank.api.base import BankAPIMixin
from model_bench import selectors
from model_bench.api.serializers import BenchmarkSummarySerializer, LeaderboardSerializer
from model_bench.models import BenchmarkTask
from model_bench.services.leaderboard import task_level

TAGS = ["benchmarks"]
PUBLIC = [AllowAny]
THROTTLES = [AnonRateThrottle, UserRateThrottle]


def _absolute(request: Request, name: str, slug: str) -> str:
    return request.build_absolute_uri(reverse(name, args=[slug]))


def _leader(task: BenchmarkTask) -> dict | None:
    rows = selectors.board_rows(task, selectors.leaderboard(task)[:1])
    if not rows or rows[0]["rank"] is None:
        return None
    row = rows[0]
    return {key: row[key] for key in ("name", "group", "reference", "value", "ci_low", "ci_high")}


class BenchmarkListView(BankAPIMixin, ListAPIView):
    permission_classes = PUBLIC
    throttle_classes = THROTTLES
    serializer_class = BenchmarkSummarySerializer

    def get_queryset(self):
        return selectors.public_tasks().order_by("slug")

    @extend_schema(
        tags=TAGS,
        operation_id="benchmarks_list",
        description=_("Every public benchmark task, with its leader (no sign-in needed)."),
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = [
            {
                "slug": task.slug,
                "title": task.title,
                "description": task.description,
                "kind": task.kind,
                "release": task.version.label,
                "label": task.label,
                "classes": task.classes,
                "positive_class": task.positive_class,
                "steps": task.steps,
                "image_size": task.image_size,
                "primary_metric": task.primary_metric,
                "level": task_level(task),
                "entries": selectors.leaderboard(task).count(),
                "leader": _leader(task),
                "url": _absolute(request, "model_bench:task", task.slug),
                "leaderboard_url": _absolute(request, "model_bench_api:leaderboard", task.slug),
            }
            for task in page
        ]
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class LeaderboardView(BankAPIMixin, APIView):
    permission_classes = PUBLIC
    throttle_classes = THROTTLES

    @extend_schema(
        tags=TAGS,
        operation_id="benchmarks_leaderboard",
        parameters=[
            OpenApiParameter(
                "task",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                pattern=r"^[-a-zA-Z0-9_]{1,60}$",
                description=_("The task's short name."),
            )
        ],  # fmt: skip
        responses=LeaderboardSerializer,
        description=_(
            "A task's leaderboard: each entry's rank (equal values share one), the primary "
            "metric with its 95% bootstrap interval, whether that interval overlaps the "
            "leader's, and its model card; the reference models are entries too."
        ),
    )
    def get(self, request: Request, task: str) -> Response:
        found = selectors.task_by_slug(task)
        if found is None:
            raise NotFound()
        board = {
            "task": found.slug,
            "release": found.version.label,
            "primary_metric": found.primary_metric,
            "level": task_level(found),
            "policy": getattr(settings, "BENCHMARK_LEADERBOARD_POLICY", "best"),
            "entries": selectors.board_rows(found, selectors.leaderboard(found)),
        }
        return Response(LeaderboardSerializer(board).data)
