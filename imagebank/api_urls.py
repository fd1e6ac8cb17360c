"""Routes of the REST API, mounted at /api/ (namespace "api")."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from imagebank.api import (
    BankAPIRootView,
    CaseViewSet,
    ImageViewSet,
    ObtainTokenView,
    SiteViewSet,
)
from imagebank.api_ingest import IngestViewSet


class BankRouter(DefaultRouter):
    # The root view must name its permission like every other view; format suffixes (.json)
    # would only double every route.
    APIRootView = BankAPIRootView
    include_format_suffixes = False


app_name = "api"

router = BankRouter()
router.register("sites", SiteViewSet, basename="site")
router.register("cases", CaseViewSet, basename="case")
router.register("images", ImageViewSet, basename="image")
router.register("ingest", IngestViewSet, basename="ingest")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    *router.urls,
]
