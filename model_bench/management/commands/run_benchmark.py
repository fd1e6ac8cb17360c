"""`manage.py run_benchmark TASK --models baseline,repvgg,unetpp-repvgg-vote,… [--seed N]
[--epochs N] [--json]`: train and evaluate reference models on a task, as benchmark jobs run by
the workers of the `benchmark` queue (or here, with --in-process), and print the results in the
form of the Bengbu study's Table 2: each model and the pipeline's ablations, every figure with its
95% bootstrap interval and the number of test images or cases.
"""

import json
import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from model_bench.models import BenchmarkJob, BenchmarkTask, JobState
from model_bench.reference_models import DEFAULT_MODELS, model_kind
from model_bench.results import table_rows, table_text
from model_bench.services import execution, jobs


class Command(BaseCommand):
    help = "Train and evaluate reference models on a benchmark task and print the ablation table."

    def add_arguments(self, parser):
        parser.add_argument("task")
        parser.add_argument("--models", default="", help="comma-separated (default: all)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--epochs", type=int, default=None)
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--resamples", type=int, default=None, help="bootstrap resamples")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.add_argument(
            "--in-process", action="store_true",
            help="run the jobs in this process instead of sending them to the benchmark workers",
        )  # fmt: skip
        parser.add_argument(
            "--timeout", type=float, default=6 * 3600, help="seconds to wait for the workers"
        )

    def handle(self, *args, **options):
        task = (
            BenchmarkTask.objects.select_related("version__release")
            .filter(slug=options["task"])
            .first()
        )
        if task is None:
            raise CommandError(f"No benchmark task {options['task']!r}.")
        names = [m.strip() for m in options["models"].split(",") if m.strip()] or list(
            DEFAULT_MODELS[model_kind(task.is_segmentation)]
        )
        config = {
            key: options[option]
            for key, option in (
                ("epochs", "epochs"),
                ("batch_size", "batch_size"),
                ("resamples", "resamples"),
            )  # fmt: skip
            if options[option] is not None
        }
        in_process = options["in_process"]
        try:
            queued = [
                jobs.queue_job(task, name, seed=options["seed"], config=config, send=not in_process)
                for name in names
            ]
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        if in_process:
            for job in queued:
                execution.run_job(job.pk)
        finished = self._wait([job.pk for job in queued], options["timeout"])
        rows = table_rows(finished, task)
        failed = [job for job in finished if job.state != JobState.SUCCEEDED]
        if options["json"]:
            self.stdout.write(json.dumps({"task": task.slug, "seed": options["seed"], "rows": rows},
                                         indent=2))  # fmt: skip
        else:
            self.stdout.write(table_text(task, rows, seed=options["seed"]))
        for job in failed:
            self.stderr.write(f"job {job.pk} ({job.model}) {job.state}: {job.error}")
        if failed:
            raise CommandError(f"{len(failed)} of {len(finished)} jobs did not succeed.")

    def _wait(self, ids: list[int], timeout: float) -> list[BenchmarkJob]:
        """The jobs once all are finished, with their progress on stderr meanwhile."""
        deadline = time.monotonic() + timeout
        shown = ""
        while True:
            found = list(BenchmarkJob.objects.filter(pk__in=ids).order_by("pk"))
            if all(job.is_finished for job in found):
                return found
            line = "  ".join(
                f"{job.model}: {job.state} {job.progress:.0%}"
                for job in found
                if not job.is_finished
            )
            if line != shown and sys.stderr.isatty():
                self.stderr.write(line)
                shown = line
            if time.monotonic() > deadline:
                raise CommandError(
                    f"The benchmark workers did not finish within {timeout:.0f} s: is a worker "
                    "of the benchmark queue running? (Or use --in-process.)"
                )
            time.sleep(1.0)
