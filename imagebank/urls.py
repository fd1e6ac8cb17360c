"""The core's pages (namespace "imagebank"): cases, imports and the permission-checked file views.

The root URL conf (config.urls) mounts them at the site's root; the API is in imagebank.api.urls.
"""

from django.urls import path

from imagebank.views import cases, files, health, imports, invitations, operations, reads
from imagebank.views import tokens as token_views

app_name = "imagebank"

urlpatterns = [
    path("cases/", cases.case_list, name="case-list"),
    path("cases/new/", cases.case_new, name="case-new"),
    path("cases/suggest-step/", cases.case_suggest_step, name="case-suggest-step"),
    path("cases/<int:pk>/", cases.case_detail, name="case-detail"),
    path("cases/<int:pk>/edit/", cases.case_edit, name="case-edit"),
    path("cases/<int:pk>/submit/", cases.case_submit, name="case-submit"),
    path("cases/<int:pk>/images/", cases.case_add_images, name="case-add-images"),
    path("cases/<int:pk>/images/status/", cases.case_image_status, name="case-image-status"),
    path("cases/<int:pk>/images/arrange/", cases.case_arrange_images, name="case-arrange-images"),
    path(
        "cases/<int:pk>/images/<int:image_pk>/remove/",
        cases.case_remove_image,
        name="case-remove-image",
    ),
    path("imports/", imports.import_list, name="import-list"),
    path("imports/template/case-package.zip", imports.import_template, name="import-template"),
    path("imports/<int:pk>/", imports.import_detail, name="import-detail"),
    path("imports/<int:pk>/report.json", imports.import_report, name="import-report"),
    path("files/images/<int:pk>/<str:variant>/", files.image_file, name="image-file"),
    # The audit of reads, for curators (imagebank.views.reads, docs/audit.md).
    path("cases/<int:pk>/reads/", reads.case_reads, name="case-reads"),
    path("cases/<int:pk>/reads.csv", reads.case_reads_csv, name="case-reads-csv"),
    path("reads/export.csv", reads.reads_export, name="reads-export"),
    # The signed-in user's API tokens (imagebank.views.tokens, docs/api.md).
    path("account/tokens/", token_views.token_list, name="token-list"),
    path("account/tokens/<int:pk>/revoke/", token_views.token_revoke, name="token-revoke"),
    # Accounts given out by curators (imagebank.views.invitations, README "Accounts").
    path("invitations/new/", invitations.invite, name="invite"),
    # Probes for load balancers and compose, and the curators' page of background work
    # (imagebank.views.health and .operations, docs/deployment.md).
    path("health/", health.liveness, name="health"),
    path("ready/", health.readiness, name="ready"),
    path("operations/", operations.operations_page, name="operations"),
]
