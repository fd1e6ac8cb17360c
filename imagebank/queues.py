"""The core's Celery queue: processing uploaded images, imports and handing submitted cases on.

Read by config.settings, which composes every app's queues and routes; keep it free of imports.
The reconciler's periodic pass goes to `default`, so that a long backlog of images on `ingest`
never delays it.
"""

QUEUES: tuple[str, ...] = ("ingest",)
TASK_ROUTES: dict[str, dict[str, str]] = {
    "imagebank.tasks.reconcile": {"queue": "default"},
    "imagebank.tasks.*": {"queue": "ingest"},
}
