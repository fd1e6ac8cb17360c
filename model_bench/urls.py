"""The pages of model_bench, mounted by config.urls."""

app_name = "model_bench"

urlpatterns: list = []
