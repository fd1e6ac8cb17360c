"""Results rows (model_bench.results.table_rows' shape) as the cells the pages show: the task's
primary metric first, then the others of its kind, each "0.812 [0.701, 0.903]" (the value and
its 95% bootstrap interval)."""

from model_bench.models import BenchmarkTask
from model_bench.models.tasks import METRIC_CHOICES
from model_bench.results import CLASSIFICATION_COLUMNS, SEGMENTATION_COLUMNS

METRIC_TITLES = dict(METRIC_CHOICES)


def metric_cell(metric: dict | None) -> str:
    if not metric or metric.get("value") is None:
        return "—"
    low, high = metric.get("ci_low"), metric.get("ci_high")
    interval = "" if low is None or high is None else f" [{low:.3f}, {high:.3f}]"
    return f"{metric['value']:.3f}{interval}"


def metric_columns(task: BenchmarkTask) -> list[dict]:
    """The primary metric, then the kind's other metrics: [{"code", "title", "primary"}]."""
    others = SEGMENTATION_COLUMNS if task.is_segmentation else CLASSIFICATION_COLUMNS
    codes = [task.primary_metric, *(code for code in others if code != task.primary_metric)]
    return [
        {"code": code, "title": METRIC_TITLES.get(code, code), "primary": i == 0}
        for i, code in enumerate(codes)
    ]


def table(task: BenchmarkTask, rows: list[dict]) -> dict:
    """{"columns": metric_columns, "rows": [{"model", "level", "n_test", "job", "cells"}]}."""
    columns = metric_columns(task)
    return {
        "columns": columns,
        "rows": [
            {
                "model": row["model"],
                "level": row["level"],
                "n_test": row["n_test"],
                "n_cases": row.get("n_cases"),
                "job": row.get("job"),
                "cells": [metric_cell(row["metrics"].get(c["code"])) for c in columns],
            }
            for row in rows
        ],
    }
