"""The download URLs of a grant's release versions and its download log (included by
access_requests.urls under the namespace `access_requests`)."""

from django.urls import path

from access_requests.views import downloads

VERSION = "access/grants/<int:grant>/<slug:slug>/<str:version>/"

download_patterns = [
    path(f"{VERSION}archive.zip", downloads.download_archive, name="download-archive"),
    path(f"{VERSION}manifest.csv", downloads.download_manifest, name="download-manifest"),
    path(f"{VERSION}files/<path:path>", downloads.download_file, name="download-file"),
    path("access/grants/<int:grant>/downloads/", downloads.download_log, name="download-log"),
]
