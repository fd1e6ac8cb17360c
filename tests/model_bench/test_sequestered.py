"""Test labels are read only inside evaluation: no training job's data loader, trainer or
artefact can reach the test split's labels or masks (issue 14, "Done when").

Checked three ways: no module of model_bench but evaluation names the sequestered readers; a
whole job, run with those readers booby-trapped until evaluation starts, never reaches them (and
no SQL of the loading and training touches the sequestered table); the loader's test ImageSet
carries neither labels nor masks, and the mask selector refuses the test split."""

import ast
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import model_bench
from curation import benchmark_selectors, mask_selectors
from model_bench.models import BenchmarkJob, JobState
from model_bench.services import datasets, evaluation, execution, jobs
from model_bench.services.benchmark_tasks import create_task

pytestmark = pytest.mark.django_db

SEQUESTERED_NAMES = {"sequestered_labels", "sequestered_masks", "SequesteredLabel"}


def names_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.add(node.name.split(".")[-1])
    return found


def test_only_evaluation_names_the_sequestered_readers():
    root = Path(model_bench.__file__).parent
    readers = {
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if names_in(path) & SEQUESTERED_NAMES
    }
    assert readers == {"services/evaluation.py"}


@pytest.fixture
def task(bench_release, curator):
    return create_task(slug="cin2", version=bench_release, kind="image-classification",
                       label="histology_cin2", actor=curator, steps=["after_acetic_acid"],
                       image_size=32)  # fmt: skip


def test_the_loader_gives_test_images_without_labels_or_masks(task):
    data = datasets.load(task, pipeline_masks=True)
    assert len(data.test) > 0
    assert data.test.labels is None and data.test.masks is None
    test_ids = set(data.test.image_ids)
    assert not test_ids & (set(data.train.image_ids) | set(data.validation.image_ids))
    for train, validation in data.masks.values():
        assert not test_ids & (set(train.image_ids) | set(validation.image_ids))
    with pytest.raises(ValueError):
        mask_selectors.masks_for_release(task.version, "lesion", splits=("train", "test"))


def test_a_job_reaches_the_test_labels_only_once_evaluation_starts(task, monkeypatch):
    evaluating = {"now": False, "labels": 0, "masks": 0}
    real_labels = benchmark_selectors.sequestered_labels

    def guarded_labels(*args, **kwargs):
        assert evaluating["now"], "test labels read before evaluation"
        evaluating["labels"] += 1
        return real_labels(*args, **kwargs)

    def guarded_masks(*args, **kwargs):
        raise AssertionError("a classification job read test masks")

    monkeypatch.setattr(benchmark_selectors, "sequestered_labels", guarded_labels)
    monkeypatch.setattr(mask_selectors, "sequestered_masks", guarded_masks)
    real_score = evaluation.score_classification

    def score(*args, **kwargs):
        evaluating["now"] = True
        return real_score(*args, **kwargs)

    monkeypatch.setattr(evaluation, "score_classification", score)
    job = jobs.queue_job(task, "unetpp-repvgg-vote", seed=1,
                         config={"epochs": 1, "resamples": 100}, send=False)  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        real_load = datasets.load

        def load(*args, **kwargs):
            data = real_load(*args, **kwargs)
            assert not any("sequesteredlabel" in q["sql"].lower() for q in queries.captured_queries)
            return data

        monkeypatch.setattr(datasets, "load", load)
        assert execution.run_job(job.pk) == "succeeded"
    training = []
    for query in queries.captured_queries:
        if "sequesteredlabel" in query["sql"].lower():
            break
        training.append(query)
    assert len(training) < len(queries.captured_queries)  # evaluation did read them, after
    assert evaluating["labels"] == 1
    assert BenchmarkJob.objects.get(pk=job.pk).state == JobState.SUCCEEDED
