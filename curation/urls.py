"""The pages of curation, mounted by config.urls."""

from django.urls import path

from curation.views import (
    adjudication_pages,
    check_pages,
    eligibility_pages,
    files,
    release_admin,
    release_catalogue,
    review_dashboard,
    review_outlines,
    review_pages,
)

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
    # The reviewer's queue page and review screen, and the form posts that act on a review
    # (curation.views.review_pages).
    path("review/", review_pages.review_queue, name="review-queue"),
    path("review/next/", review_pages.review_next, name="review-next"),
    path("review/<int:pk>/", review_pages.review_screen, name="review-screen"),
    path("review/<int:pk>/release/", review_pages.review_release, name="review-release"),
    path("review/<int:pk>/decide/", review_pages.review_decide, name="review-decide"),
    path("review/<int:pk>/flags/", review_pages.review_flag, name="review-flag"),
    path(
        "review/<int:pk>/flags/<int:flag>/remove/",
        review_pages.review_flag_remove,
        name="review-flag-remove",
    ),
    path("review/<int:pk>/outlines/", review_pages.review_outline, name="review-outline"),
    path(
        "review/<int:pk>/outlines/<int:outline>/remove/",
        review_pages.review_outline_remove,
        name="review-outline-remove",
    ),
    # The curators' adjudication list and page, and the review dashboard
    # (curation.views.adjudication_pages, curation.views.review_dashboard).
    path(
        "curation/adjudication/",
        adjudication_pages.adjudication_list,
        name="adjudication-list",
    ),
    path(
        "curation/adjudication/<int:pk>/",
        adjudication_pages.adjudication_page,
        name="adjudication",
    ),
    path("curation/reviews/", review_dashboard.review_dashboard, name="review-dashboard"),
    # The curators' eligibility checklist (curation.views.eligibility_pages).
    path(
        "curation/eligibility/",
        eligibility_pages.eligibility_items_page,
        name="eligibility-items",
    ),
    # The public catalogue of dataset releases (curation.views.release_catalogue): published
    # versions only, metadata only, for anyone.
    path("releases/", release_catalogue.catalogue, name="release-catalogue"),
    path(
        "releases/<slug:slug>/<str:version>/",
        release_catalogue.version_page,
        name="release-version",
    ),
    path(
        "releases/<slug:slug>/<str:version>/datasheet/",
        release_catalogue.datasheet_page,
        name="release-datasheet",
    ),
    path(
        "releases/<slug:slug>/<str:version>/datasheet.md",
        release_catalogue.datasheet_markdown,
        name="release-datasheet-md",
    ),
    # The curators' release pages (curation.views.release_admin). "new" is never a version (a
    # version is three numbers), so the definition form's path comes first without ambiguity.
    path("curation/releases/", release_admin.release_admin, name="release-admin"),
    path(
        "curation/releases/<slug:slug>/new/",
        release_admin.release_define,
        name="release-define",
    ),
    path(
        "curation/releases/<slug:slug>/<str:version>/",
        release_admin.release_manage,
        name="release-manage",
    ),
    path(
        "curation/releases/<slug:slug>/<str:version>/preview/",
        release_admin.release_preview,
        name="release-preview",
    ),
    path(
        "curation/releases/<slug:slug>/<str:version>/build/",
        release_admin.release_build,
        name="release-build",
    ),
    path(
        "curation/releases/<slug:slug>/<str:version>/publish/",
        release_admin.release_publish,
        name="release-publish",
    ),
]
