"""The API routes of curation, mounted at /api/ by config.urls."""

from django.urls import path

from curation.api.similar import SimilarImagesView

app_name = "curation_api"

urlpatterns: list = [
    # The core's image routes take numeric ids only (ImageViewSet.lookup_value_regex), so this
    # path is not read as the image "similar".
    path("images/similar/", SimilarImagesView.as_view(), name="images-similar"),
]
