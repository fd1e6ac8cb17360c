"""The API routes of model_bench, mounted at /api/ by config.urls."""

app_name = "model_bench_api"

urlpatterns: list = []
