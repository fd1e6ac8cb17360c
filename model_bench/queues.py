"""The benchmark queue: training and evaluating models, kept apart so a long run never delays
ingest.

Read by config.settings, which composes every app's queues and routes; keep it free of imports.
"""

QUEUES: tuple[str, ...] = ("benchmark",)
TASK_ROUTES: dict[str, dict[str, str]] = {"model_bench.tasks.*": {"queue": "benchmark"}}
