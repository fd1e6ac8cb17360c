"""Access requests run little background work (mail, expiry), on the default queue.

Read by config.settings, which composes every app's queues and routes; keep it free of imports.
"""

QUEUES: tuple[str, ...] = ()  # "default" is always declared
TASK_ROUTES: dict[str, dict[str, str]] = {"access_requests.tasks.*": {"queue": "default"}}
