"""The results of a task's jobs as table rows, and the text table in the form of the Bengbu
study's Table 2 (each model and the pipeline's ablations; every figure with its 95% interval
and the number of test images or cases)."""

from model_bench.models import BenchmarkJob, BenchmarkTask, JobState

CLASSIFICATION_COLUMNS = ("accuracy", "auc", "sensitivity", "specificity", "f1")
SEGMENTATION_COLUMNS = ("dice", "iou")


def table_rows(found: list[BenchmarkJob], task: BenchmarkTask) -> list[dict]:
    """The rows of the jobs that succeeded, in the order they were asked for, in the JSON shape
    of `run_benchmark --json`: {"model", "level", "n_test", "metrics": {name: {"value",
    "ci_low", "ci_high"}}} (plus "n_cases" and "job")."""
    rows = []
    for job in found:
        if job.state != JobState.SUCCEEDED:
            continue
        for row in (job.results or {}).get("rows", []):
            rows.append(
                {
                    "model": row["model"],
                    "level": row["level"],
                    "n_test": row["n_test"],
                    "n_cases": row.get("n_cases"),
                    "metrics": row["metrics"],
                    "job": job.pk,
                }
            )
    return rows


def _cell(metric: dict | None) -> str:
    if not metric or metric.get("value") is None:
        return "—"
    low, high = metric.get("ci_low"), metric.get("ci_high")
    interval = "" if low is None or high is None else f" [{low:.3f}, {high:.3f}]"
    return f"{metric['value']:.3f}{interval}"


def table_text(task: BenchmarkTask, rows: list[dict], *, seed: int) -> str:
    columns = SEGMENTATION_COLUMNS if task.is_segmentation else CLASSIFICATION_COLUMNS
    header = ["model", "level", "n", *columns]
    body = [
        [
            row["model"],
            row["level"],
            str(row["n_test"]),
            *(_cell(row["metrics"].get(c)) for c in columns),
        ]  # fmt: skip
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells):
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    out = [
        f"{task.slug} on {task.version.label}, seed {seed}: 95% bootstrap intervals; "
        "n = test images (image level) or test cases (case level)",
        line(header).rstrip(),
        line(["-" * w for w in widths]).rstrip(),
    ]
    out += [line(cells).rstrip() for cells in body]
    return "\n".join(out) + "\n"
