"""`manage.py score_predictions TASK FILE [--json]`: validate and score a predictions CSV offline,
for the organisers, without recording a submission (issue 15).

With --json it prints {"valid": true, "metrics": {"auc": {"value", "ci_low", "ci_high"}, …}, …}
(the task's own level: image for an image-level task, case for a case-level one; "rows" has every
level), or exits 1 with {"valid": false, "errors": [{"row", "column", "message"}, …]}.
"""

import json
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from model_bench.metrics.bootstrap import RESAMPLES, SEED
from model_bench.models import BenchmarkTask
from model_bench.services import evaluation, predictions


def _row_json(row: dict) -> dict:
    keys = ("level", "n_test", "n_cases", "metrics", "confusion_matrix")
    return {key: row.get(key) for key in keys}


class Command(BaseCommand):
    help = "Validate and score a predictions CSV for a benchmark task, without recording it."

    def add_arguments(self, parser):
        parser.add_argument("task")
        parser.add_argument("file", help="the predictions CSV (- for standard input)")
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        parser.add_argument("--seed", type=int, default=SEED, help="the bootstrap's seed")
        parser.add_argument("--resamples", type=int, default=RESAMPLES, help="bootstrap resamples")

    def handle(self, *args, **options):
        task = BenchmarkTask.objects.select_related("version").filter(slug=options["task"]).first()
        if task is None:
            raise CommandError(f"No benchmark task {options['task']!r}.")
        data = self._read(options["file"])
        try:
            parsed = predictions.parse(task, data)
            rows = evaluation.score_predictions(
                task, parsed, seed=options["seed"], resamples=options["resamples"]
            )
        except predictions.InvalidPredictions as invalid:
            self._invalid(invalid.errors, as_json=options["json"])
        except ValidationError as error:  # e.g. no test image has a label of this task
            raise CommandError("; ".join(error.messages)) from error
        level = "case" if task.case_level else "image"
        main = next(row for row in rows if row["level"] == level)
        if options["json"]:
            result = {"valid": True, "task": task.slug, **_row_json(main),
                      "rows": [_row_json(row) for row in rows]}  # fmt: skip
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(f"{task.slug}: valid, {parsed.rows} rows")
        for row in rows:
            self.stdout.write(f"{row['level']} level, n = {row['n_test']}:")
            for name, figure in row["metrics"].items():
                self.stdout.write(f"  {name:18} {_figure(figure)}")

    def _read(self, path: str) -> bytes:
        if path == "-":
            return sys.stdin.buffer.read(predictions.max_bytes() + 1)
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file.")
        with file.open("rb") as handle:  # no more than the limit, whatever the file's size
            return handle.read(predictions.max_bytes() + 1)

    def _invalid(self, errors, *, as_json: bool):
        if as_json:
            out = {"valid": False, "errors": [error.as_dict() for error in errors]}
            self.stdout.write(json.dumps(out, indent=2, ensure_ascii=False))
        else:
            for error in errors:
                where = ", ".join(
                    part
                    for part in (
                        f"row {error.row}" if error.row is not None else "",
                        f"column {error.column}" if error.column else "",
                    )
                    if part
                )
                self.stderr.write(f"{where}: {error.message}" if where else error.message)
        sys.exit(1)


def _figure(figure: dict) -> str:
    if figure.get("value") is None:
        return "undefined"
    low, high = figure.get("ci_low"), figure.get("ci_high")
    interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    return f"{figure['value']:.3f}{interval}"
