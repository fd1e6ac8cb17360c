"""The core's API routes, mounted at /api/ by the root URL conf (namespace "api")."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from imagebank.api.auth import ObtainTokenView
from imagebank.api.base import BankAPIRootView
from imagebank.api.cases import CaseViewSet
from imagebank.api.images import ImageViewSet
from imagebank.api.ingest import IngestViewSet
from imagebank.api.sites import SiteViewSet
from imagebank.api.tokens import ApiTokenViewSet


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
router.register("tokens", ApiTokenViewSet, basename="token")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    *router.urls,
]
