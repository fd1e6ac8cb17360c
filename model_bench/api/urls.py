"""The API routes of model_bench, mounted at /api/ by config.urls."""

from django.urls import path

from model_bench.api import leaderboards

app_name = "model_bench_api"

urlpatterns: list = [
    # The public benchmark API (model_bench.api.leaderboards): tasks and their boards.
    path("benchmarks/", leaderboards.BenchmarkListView.as_view(), name="benchmark-list"),
    path(
        "benchmarks/<slug:task>/leaderboard/",
        leaderboards.LeaderboardView.as_view(),
        name="leaderboard",
    ),
]
