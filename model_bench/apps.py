from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModelBenchConfig(AppConfig):
    name = "model_bench"
    verbose_name = _("Model benchmarks")

    def ready(self) -> None:
        # Benchmark jobs whose message was lost, or whose worker died, are taken up again by the
        # reconciler (imagebank.reconcile), as every kind of background work of the bank.
        from imagebank.demo import register_demo_loader
        from imagebank.reconcile import WorkKind, register_work_kind
        from model_bench import tasks  # noqa: F401 - registered with the Celery app at start
        from model_bench.services import jobs, submissions

        register_work_kind(
            WorkKind(
                name="benchmark_jobs",
                label=_("Benchmark jobs waiting or running"),
                reconcile=jobs.reconcile_jobs,
                backlog=jobs.jobs_backlog,
            )
        )
        register_work_kind(
            WorkKind(
                name="benchmark_submissions",
                label=_("Submissions waiting to be scored"),
                reconcile=submissions.reconcile_submissions,
                backlog=submissions.submissions_backlog,
            )
        )
        # `load_demo` ends with the benchmark demo: a published release and one task of each kind.
        register_demo_loader("benchmarks", load_demo_benchmarks)


def load_demo_benchmarks(stdout) -> None:
    from django.core.management import call_command

    call_command("load_demo_benchmarks", stdout=stdout)
