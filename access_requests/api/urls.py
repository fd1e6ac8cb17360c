"""The API routes of access_requests, mounted at /api/ by config.urls."""

app_name = "access_requests_api"

urlpatterns: list = []
