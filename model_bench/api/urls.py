"""The API routes of model_bench, mounted at /api/ by config.urls."""

from django.urls import path

from model_bench.api import leaderboards, submissions

app_name = "model_bench_api"

urlpatterns: list = [
    # The public benchmark API (model_bench.api.leaderboards): tasks and their boards.
    path("benchmarks/", leaderboards.BenchmarkListView.as_view(), name="benchmark-list"),
    path(
        "benchmarks/<slug:task>/leaderboard/",
        leaderboards.LeaderboardView.as_view(),
        name="leaderboard",
    ),
    # Submissions (model_bench.api.submissions): for the accessors of a live grant.
    path(
        "benchmarks/<slug:task>/submissions/",
        submissions.SubmissionCreateView.as_view(),
        name="submission-create",
    ),
    path(
        "benchmarks/<slug:task>/submissions/<int:id>/",
        submissions.SubmissionDetailView.as_view(),
        name="submission",
    ),
]
