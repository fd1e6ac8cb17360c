"""Curation's Celery queue: automated checks, the duplicate index and release builds.

Read by config.settings, which composes every app's queues and routes; keep it free of imports.
"""

QUEUES: tuple[str, ...] = ("curation",)
TASK_ROUTES: dict[str, dict[str, str]] = {"curation.tasks.*": {"queue": "curation"}}
