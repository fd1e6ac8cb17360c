"""The root URL conf: it composes each app's own pages and API routes, and nothing else."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from imagebank.middleware import admin_login_redirect
from imagebank.views import two_factor

urlpatterns = [
    # The admin's own login asks for a password only: the site's sign-in (with its second
    # factor) replaces it (imagebank.middleware does the same for any admin mount).
    path("admin/login/", admin_login_redirect),
    path("admin/", admin.site.urls),
    # allauth's two-factor set-up, continuing to `next` once done (imagebank.views.two_factor).
    path("accounts/2fa/totp/activate/", two_factor.activate_totp),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the page runs under the CSP.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="imagebank/api_docs.html"
        ),
        name="api-docs",
    ),
    # Each app's API routes (namespace "api" for the core, "<app>_api" for the others) and pages.
    path("api/", include("imagebank.api.urls")),
    path("api/", include("curation.api.urls")),
    path("api/", include("access_requests.api.urls")),
    path("api/", include("model_bench.api.urls")),
    path("", include("imagebank.urls")),
    path("", include("curation.urls")),
    path("", include("access_requests.urls")),
    path("", include("model_bench.urls")),
    path("", include("portal.urls")),
]

# Under /api/ a path no route matches answers JSON like the API's own 404s; elsewhere the page.
handler404 = "imagebank.api.base.not_found"
# An outage (database, broker, cache, storage) raised anywhere answers 503 + Retry-After; any
# other failure the 500, JSON under /api/ (imagebank.outage_responses).
handler500 = "imagebank.outage_responses.server_error"
