"""The pages of curation, mounted by config.urls."""

app_name = "curation"

urlpatterns: list = []
