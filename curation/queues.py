"""Curation's Celery queue: automated checks, the duplicate index and release builds.

Read by config.settings, which composes every app's queues and routes; keep it free of imports.
"""

QUEUES: tuple[str, ...] = ("curation",)
TASK_ROUTES: dict[str, dict[str, str]] = {
    "curation.tasks.*": {"queue": "curation"},
    # The core's task that runs the checks curation registers runs where they run: a name beats
    # the core's "imagebank.tasks.*" pattern.
    "imagebank.tasks.run_quality_checks": {"queue": "curation"},
}
