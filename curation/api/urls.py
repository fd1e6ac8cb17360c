"""The API routes of curation, mounted at /api/ by config.urls."""

app_name = "curation_api"

urlpatterns: list = []
