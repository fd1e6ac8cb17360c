"""`load_demo` ends with `load_demo_benchmarks` (or that alone after `load_demo --core-only`): a
published release with its splits, one benchmark
task of each kind, masks on the synthetic cases; a second run creates nothing."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from curation.models import Mask, Release, ReleaseImage, ReleaseState, ReleaseVersion
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image
from model_bench.management.commands.load_demo_benchmarks import BENCH_CASES
from model_bench.models import BenchmarkTask, TaskKind

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Case, Image, Mask, Release, ReleaseVersion, ReleaseImage, BenchmarkTask)
    }


def test_builds_the_benchmark_demo_once(local_storage):
    # One test, because loading the demo is the slow part (about 30 s on two busy cores).
    output = run("load_demo")

    assert f"Created {len(BENCH_CASES)} accepted cases" in output
    assert "run_benchmark demo-cin2-images" in output
    version = ReleaseVersion.objects.get(release__slug="demo-benchmark", version="1.0.0")
    assert version.state == ReleaseState.PUBLISHED
    assert version.label_names == ["histology_cin2", "histology_severity", "tz_type"]
    splits = set(version.images.values_list("split", flat=True))
    assert {"train", "validation", "test"} <= splits
    # Both classes of the CIN2 label in training, so the classification tasks can learn.
    train_labels = {
        row.labels.get("histology_cin2") for row in version.images.filter(split="train")
    }
    assert {"below_cin2", "cin2_or_worse"} <= train_labels

    tasks = {task.slug: task for task in BenchmarkTask.objects.all()}
    assert tasks["demo-cin2-images"].kind == TaskKind.IMAGE_CLASSIFICATION
    assert tasks["demo-cin2-images"].label == "histology_cin2"
    assert tasks["demo-cin2-images"].steps == ["after_acetic_acid"]
    assert tasks["demo-severity-cases"].kind == TaskKind.CASE_CLASSIFICATION
    assert tasks["demo-severity-cases"].label == "histology_severity"
    assert tasks["demo-lesion-segmentation"].kind == TaskKind.SEGMENTATION
    assert tasks["demo-lesion-segmentation"].label == "lesion"
    assert {task.image_size for task in tasks.values()} == {64}
    assert all(task.version_id == version.pk for task in tasks.values())

    # A cervix mask on every accepted after-acetic-acid image, a lesion mask on lesion cases,
    # each at its image's size.
    accepted = Image.objects.filter(case__state=CaseState.ACCEPTED, step="after_acetic_acid")
    assert accepted.count() >= len(BENCH_CASES)
    for image in accepted:
        assert image.masks.filter(kind="cervix").exists()
    lesion_cases = sum(spec.lesion for spec in BENCH_CASES)
    assert Mask.objects.filter(kind="lesion").count() >= lesion_cases
    for mask in Mask.objects.select_related("image"):
        assert (mask.width, mask.height) == (mask.image.width, mask.image.height)
        assert mask.foreground_pixels > 0

    before = counts()
    again = run("load_demo")
    assert "Benchmark demo already present: nothing created." in again
    assert "run_benchmark demo-cin2-images" in again
    assert counts() == before
    assert "nothing created" in run("load_demo_benchmarks")
    assert counts() == before


def test_core_only_leaves_the_benchmarks_out(local_storage):
    output = run("load_demo", "--core-only")
    assert "Demo benchmarks" not in output
    assert not BenchmarkTask.objects.exists()
    assert not ReleaseVersion.objects.exists()


def test_needs_load_demo_first(local_storage):
    with pytest.raises(CommandError, match="load_demo"):
        run("load_demo_benchmarks")
