"""The API routes of access_requests, mounted at /api/ by config.urls."""

from django.urls import path

from access_requests.api.downloads import DownloadableVersionsView

app_name = "access_requests_api"

urlpatterns: list = [
    path("access/downloads/", DownloadableVersionsView.as_view(), name="downloads"),
]
