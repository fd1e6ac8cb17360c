"""Routes of the permission-checked file views, mounted at /files/ (namespace "files")."""

from django.urls import path

from imagebank.views_files import image_file

app_name = "files"

urlpatterns = [
    path("images/<int:pk>/<str:variant>/", image_file, name="image-file"),
]
