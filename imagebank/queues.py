"""The core's Celery queue: processing uploaded images, imports and handing submitted cases on.

Read by config.settings, which composes every app's queues and routes; keep it free of imports.
"""

QUEUES: tuple[str, ...] = ("ingest",)
TASK_ROUTES: dict[str, dict[str, str]] = {"imagebank.tasks.*": {"queue": "ingest"}}
