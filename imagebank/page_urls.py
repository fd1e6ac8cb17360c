"""Routes of the case pages, included by portal.urls at cases/ (namespace "portal:cases")."""

from django.urls import path

from imagebank import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/edit/", views.case_edit, name="edit"),
    path("<int:pk>/submit/", views.case_submit, name="submit"),
    path("<int:pk>/images/", views.case_add_images, name="add-images"),
    path("<int:pk>/images/status/", views.case_image_status, name="image-status"),
    path("<int:pk>/images/arrange/", views.case_arrange_images, name="arrange-images"),
    path("<int:pk>/images/<int:image_pk>/remove/", views.case_remove_image, name="remove-image"),
]
