"""The pages of curation, mounted by config.urls."""

from django.urls import path

from curation.views import check_pages, files

app_name = "curation"

urlpatterns = [
    # The overlay of a check result, permission-checked like the core's image files.
    path("files/checks/<int:pk>/overlay/", files.check_overlay, name="check-overlay"),
    # The curators' pages of the automated checks (curation.views.check_pages).
    path("curation/thresholds/", check_pages.thresholds_page, name="thresholds"),
    path(
        "curation/thresholds/<int:pk>/remove/",
        check_pages.threshold_remove,
        name="threshold-remove",
    ),
    path("curation/flags/", check_pages.flags_page, name="flags"),
]
