"""Benchmark tasks and jobs end to end on a small synthetic release: create_task checks its
definition against the version, run_benchmark trains and evaluates reference models as jobs and
prints the ablation table (and the same as JSON), the same seed gives the same figures, and a
job stores its artefacts (weights, checked ONNX exports, configuration, metrics, curves)."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from model_bench.models import BenchmarkJob, BenchmarkTask, JobState
from model_bench.reference_models import PIPELINE_ROWS

pytestmark = pytest.mark.django_db

FAST = ["--epochs", "1", "--resamples", "200", "--in-process"]


def create(slug, kind, label, *extra):
    out = io.StringIO()
    call_command("create_task", slug, "--release", "bench@1.0.0", "--kind", kind, "--label",
                 label, "--image-size", "32", *extra, stdout=out)  # fmt: skip
    return BenchmarkTask.objects.get(slug=slug), out.getvalue()


def run(task, models, *extra):
    out = io.StringIO()
    call_command("run_benchmark", task, "--models", models, *FAST, *extra, stdout=out)
    return out.getvalue()


def test_create_task_checks_its_definition(bench_release):
    task, printed = create("cin2", "image-classification", "histology_cin2",
                           "--steps", "after_acetic_acid")  # fmt: skip
    assert task.classes == ["below_cin2", "cin2_or_worse"]
    assert task.positive_class == "cin2_or_worse"
    assert task.primary_metric == "auc" and task.steps == ["after_acetic_acid"]
    assert "cin2" in printed
    for args, message in [
        (("x1", "image-classification", "nope"), "has no label"),
        (("x2", "segmentation", "histology_cin2"), "mask kind"),
        (("x3", "image-classification", "tz_type", "--metric", "dice"), "metric"),
        (("x4", "image-classification", "tz_type", "--steps", "sideways"), "step"),
        (("x5", "image-classification", "tz_type", "--classes", "a=type_9,b=type_1"), "type_9"),
        (("cin2", "image-classification", "tz_type"), "exists"),
    ]:
        with pytest.raises(CommandError, match=message):
            create(*args)
    grouped, _ = create("tz", "case-classification", "tz_type",
                        "--classes", "one=type_1,other=type_2+type_3")  # fmt: skip
    assert grouped.class_map == {"type_1": "one", "type_2": "other", "type_3": "other"}


def test_run_benchmark_prints_the_ablation_table_and_the_same_figures_for_the_same_seed(
    bench_release,
):
    create("cin2", "image-classification", "histology_cin2", "--steps", "after_acetic_acid")
    models = "baseline,repvgg,unetpp-repvgg-vote"
    first = json.loads(run("cin2", models, "--json", "--seed", "3"))
    assert first["task"] == "cin2" and first["seed"] == 3
    names = [(row["model"], row["level"]) for row in first["rows"]]
    expected = ["baseline", "repvgg", *PIPELINE_ROWS]
    assert names == [(name, level) for name in expected for level in ("image", "case")]
    for row in first["rows"]:
        assert set(row) >= {"model", "level", "n_test", "metrics"} and row["n_test"] > 0
        for name in ("accuracy", "auc", "sensitivity", "specificity"):
            metric = row["metrics"][name]
            assert set(metric) == {"value", "ci_low", "ci_high"}
            if metric["value"] is not None:
                assert metric["ci_low"] <= metric["value"] <= metric["ci_high"]
    again = json.loads(run("cin2", models, "--json", "--seed", "3"))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "job"} for r in rows]  # noqa: E731
    assert strip(again["rows"]) == strip(first["rows"])

    table = run("cin2", "baseline", "--seed", "3")
    assert "95% bootstrap intervals" in table and "baseline" in table and "[" in table


def test_a_job_stores_its_artefacts_and_each_onnx_export_was_checked(bench_release):
    create("cin2", "image-classification", "histology_cin2", "--steps", "after_acetic_acid")
    run("cin2", "repvgg")
    job = BenchmarkJob.objects.get(model="repvgg")
    assert job.state == JobState.SUCCEEDED and job.progress == 1.0 and job.attempts == 1
    names = set(job.artefacts.values_list("name", flat=True))
    assert names == {"weights.pt", "repvgg.onnx", "config.json", "metrics.json", "curves.png"}
    assert job.results["onnx_max_difference"]["repvgg"] < 1e-4
    assert job.history["repvgg"][0]["epoch"] == 1 and job.parameters > 0
    assert job.log_lines.filter(message__contains="ONNX export of repvgg").exists()
    assert [e.to_state for e in job.events.all()] == ["queued", "running", "succeeded"]


def test_segmentation_task_with_pretraining_rows(bench_release):
    create("lesion", "segmentation", "lesion", "--steps", "after_acetic_acid")
    result = json.loads(run("lesion", "pixel-baseline,unetpp", "--json"))
    names = [row["model"] for row in result["rows"]]
    assert names == ["baseline", "unetpp", "unetpp/no-pretraining"]
    for row in result["rows"]:
        assert row["level"] == "image" and set(row["metrics"]) == {"dice", "iou"}


def test_a_model_that_does_not_fit_the_task_is_refused(bench_release):
    create("lesion", "segmentation", "lesion")
    with pytest.raises(CommandError, match="does not fit"):
        run("lesion", "repvgg")
    with pytest.raises(CommandError, match="Unknown model"):
        run("lesion", "resnet50")
