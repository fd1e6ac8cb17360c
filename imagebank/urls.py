from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from imagebank import views_ingest

# The import pages, under /imports/ in the "imagebank" namespace.
import_patterns = (
    [
        path("", views_ingest.import_list, name="import-list"),
        path("template/case-package.zip", views_ingest.import_template, name="import-template"),
        path("<int:pk>/", views_ingest.import_detail, name="import-detail"),
        path("<int:pk>/report.json", views_ingest.import_report, name="import-report"),
    ],
    "imagebank",
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("imagebank.api_urls")),
    path("files/", include("imagebank.file_urls")),
    path("imports/", include(import_patterns)),
    path("", include("portal.urls")),
]
