"""The benchmark queue: training and evaluating models, kept apart so a long run never delays
ingest; and the scoring queue: scoring submissions.

Read by config.settings, which composes every app's queues and routes; keep it free of imports.
"""

QUEUES: tuple[str, ...] = ("benchmark", "scoring")
# Scoring a submission takes seconds and needs no torch: its own queue, served by the main
# workers, so that it never waits behind a training job. (An exact name wins over a pattern.)
TASK_ROUTES: dict[str, dict[str, str]] = {
    "model_bench.tasks.score_submission": {"queue": "scoring"},
    "model_bench.tasks.*": {"queue": "benchmark"},
}
