"""Issue 14's acceptance on the shared IARC sample: its VIA bank imported, reviewed and accepted,
its masks imported; a curator builds and publishes a release and creates a lesion segmentation
task and a VIA classification task; run_benchmark trains and evaluates every reference model and
prints the ablation table with intervals; the same command with the same seed prints the same
figures. Small sizes (32 px, one epoch) keep it to minutes on two cores: the figures mean nothing
here, their reproducibility and shape do (docs/benchmarks.md gives a full-size run)."""

import io
import json

import pytest
from django.core.management import call_command

from curation.models import Mask
from curation.services import releases
from model_bench.reference_models import DEFAULT_MODELS, MODELS
from tests.conftest import SHARED_DATA, require_service
from tests.curation.test_release_iarc import review_and_accept_everything
from tests.factories import make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

IARC = SHARED_DATA / "iarc"
SMALL = ["--epochs", "1", "--resamples", "200", "--in-process", "--json", "--seed", "7"]


@pytest.fixture
def iarc_release(curator, django_capture_on_commit_callbacks):
    require_service(IARC.exists(), f"{IARC} is not there (a fresh clone)")
    site = make_site("iarc-via", submission_requirements=[])
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ingest", str(IARC / "via"), "--site", site.slug, "--submit",
                     stdout=io.StringIO())  # fmt: skip
    review_and_accept_everything()
    for kind in ("cervix", "lesion"):
        call_command("import_masks", str(IARC / "via-masks" / kind), "--kind", kind,
                     "--site", site.slug, stdout=io.StringIO())  # fmt: skip
    assert Mask.objects.filter(kind="lesion").count() == 34
    release = releases.create_release(slug="iarc-via", title="IARC VIA", actor=curator)
    version = releases.define_version(
        release=release, actor=curator, version="1.0.0", description="The IARC VIA bank.",
        licence_name="CC BY-NC 4.0", citation="IARC Cervical Cancer Image Bank.", seed=2026,
    )  # fmt: skip
    return releases.publish(releases.build_now(version, actor=curator), actor=curator)


def benchmark(task: str, models) -> dict:
    out = io.StringIO()
    call_command("run_benchmark", task, "--models", ",".join(models), *SMALL, stdout=out)
    return json.loads(out.getvalue())


def test_every_reference_model_on_the_iarc_sample_gives_the_same_figures_twice(iarc_release):
    call_command("create_task", "via-lesion", "--release", "iarc-via@1.0.0", "--kind",
                 "segmentation", "--label", "lesion", "--image-size", "32",
                 stdout=io.StringIO())  # fmt: skip
    call_command("create_task", "via-positive", "--release", "iarc-via@1.0.0", "--kind",
                 "image-classification", "--label", "via_result", "--image-size", "32",
                 "--classes", "negative=negative,positive=positive+suspicious_for_cancer",
                 stdout=io.StringIO())  # fmt: skip
    for task, models in (("via-positive", DEFAULT_MODELS["classification"]),
                         ("via-lesion", DEFAULT_MODELS["segmentation"])):  # fmt: skip
        first = benchmark(task, models)
        expected = [row for name in models for row in MODELS[name].rows]
        assert sorted({row["model"] for row in first["rows"]}) == sorted(expected)
        for row in first["rows"]:
            assert row["n_test"] > 0
            for metric in row["metrics"].values():
                assert set(metric) == {"value", "ci_low", "ci_high"}
        again = benchmark(task, models)
        assert [{k: v for k, v in r.items() if k != "job"} for r in again["rows"]] == [
            {k: v for k, v in r.items() if k != "job"} for r in first["rows"]
        ]
