"""The API routes of curation, mounted at /api/ by config.urls."""

from django.urls import path

from curation.api import releases, reviews
from curation.api.similar import SimilarImagesView

app_name = "curation_api"

urlpatterns: list = [
    # The core's image routes take numeric ids only (ImageViewSet.lookup_value_regex), so this
    # path is not read as the image "similar".
    path("images/similar/", SimilarImagesView.as_view(), name="images-similar"),
    # The review queue (curation.api.reviews): for reviewers, on their own reviews only.
    path("reviews/next/", reviews.ReviewNextView.as_view(), name="review-next"),
    path("reviews/<int:id>/", reviews.ReviewDetailView.as_view(), name="review-detail"),
    path(
        "reviews/<int:id>/decision/",
        reviews.ReviewDecisionView.as_view(),
        name="review-decision",
    ),
    path("reviews/<int:id>/release/", reviews.ReviewReleaseView.as_view(), name="review-release"),
    path("reviews/<int:id>/flags/", reviews.ReviewFlagsView.as_view(), name="review-flags"),
    path(
        "reviews/<int:id>/flags/<int:flag>/",
        reviews.ReviewFlagView.as_view(),
        name="review-flag",
    ),
    path(
        "reviews/<int:id>/outlines/", reviews.ReviewOutlinesView.as_view(), name="review-outlines"
    ),
    path(
        "reviews/<int:id>/outlines/<int:outline>/",
        reviews.ReviewOutlineView.as_view(),
        name="review-outline",
    ),
    # The public release catalogue (curation.api.releases): published versions, metadata only.
    path("releases/", releases.ReleaseListView.as_view(), name="release-list"),
    path(
        "releases/<slug:slug>/<str:version>/",
        releases.ReleaseDetailView.as_view(),
        name="release-detail",
    ),
]
