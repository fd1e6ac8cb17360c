"""The pages of model_bench, mounted by config.urls."""

from django.urls import path

from model_bench.views import (
    artefact_files,
    job_pages,
    picture_files,
    submission_pages,
    task_admin,
    task_pages,
)

app_name = "model_bench"

urlpatterns = [
    # The public benchmark pages (model_bench.views.task_pages, job_pages): tasks on published
    # release versions, their results and jobs; the curators' queue form posts to task-queue.
    path("benchmarks/", task_pages.task_list, name="task-list"),
    path("benchmarks/<slug:slug>/", task_pages.task_page, name="task"),
    path("benchmarks/<slug:slug>/queue/", task_pages.task_queue, name="task-queue"),
    path("benchmarks/<slug:slug>/jobs/<int:pk>/", job_pages.job_page, name="job"),
    # A board entry's model card (a reference model's is its job's page).
    path("benchmarks/<slug:slug>/entries/<int:pk>/", task_pages.entry_page, name="entry"),
    path(
        "benchmarks/<slug:slug>/jobs/<int:pk>/progress.json",
        job_pages.job_progress,
        name="job-progress",
    ),
    path("benchmarks/<slug:slug>/jobs/<int:pk>/cancel/", job_pages.job_cancel, name="job-cancel"),
    # A job's artefacts, permission-checked (model_bench.views.artefact_files).
    path(
        "benchmarks/<slug:slug>/jobs/<int:pk>/artefacts/<str:name>",
        artefact_files.artefact_file,
        name="job-artefact",
    ),
    # The submitters' pages (model_bench.views.submission_pages): the form, a result.
    path("benchmarks/<slug:slug>/submit/", submission_pages.submission_new, name="submit"),
    path(
        "benchmarks/<slug:slug>/submissions/<int:pk>/",
        submission_pages.submission_page,
        name="submission",
    ),
    # The pictures of a scored submission, public as the board (model_bench.views.picture_files).
    path(
        "benchmarks/<slug:slug>/submissions/<int:pk>/<str:name>.png",
        picture_files.submission_picture,
        name="submission-picture",
    ),
    # The curators' page that creates a task (model_bench.views.task_admin).
    path("curation/benchmarks/new/", task_admin.task_new, name="task-new"),
]
