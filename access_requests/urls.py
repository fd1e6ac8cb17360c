"""The pages of access_requests, mounted by config.urls."""

app_name = "access_requests"

urlpatterns: list = []
