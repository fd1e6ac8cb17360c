"""The pages of curation, mounted by config.urls."""

from django.urls import path

from curation.views import check_pages, eligibility_pages, files, review_outlines

app_name = "curation"

urlpatterns = [
    # The overlay of a check result, permission-checked like the core's image files.
    path("files/checks/<int:pk>/overlay/", files.check_overlay, name="check-overlay"),
    # A reviewer's outline as a mask (curation.views.review_outlines), audited like the overlay.
    path("files/outlines/<int:pk>/mask.png", review_outlines.outline_mask, name="outline-mask"),
    # The curators' pages of the automated checks (curation.views.check_pages).
    path("curation/thresholds/", check_pages.thresholds_page, name="thresholds"),
    path(
        "curation/thresholds/<int:pk>/remove/",
        check_pages.threshold_remove,
        name="threshold-remove",
    ),
    path("curation/flags/", check_pages.flags_page, name="flags"),
    # The curators' eligibility checklist (curation.views.eligibility_pages).
    path(
        "curation/eligibility/",
        eligibility_pages.eligibility_items_page,
        name="eligibility-items",
    ),
]
