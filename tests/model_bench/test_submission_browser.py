"""Submissions in a real browser (issue 15, "Done when"): a researcher named on a live grant
submits a predictions CSV from the task's page and sees it scored with every metric, its
interval and its pictures, then an ONNX model that the worker runs and scores; a malformed CSV
is refused with its reasons, row by row; a visitor sees the leaderboard with intervals, the
submission and the reference model, and opens an entry's model card."""

import pytest
from django.utils import timezone

from model_bench.models import BenchmarkJob, JobState
from model_bench.services import leaderboard
from model_bench.services.benchmark_tasks import create_task
from tests.access_requests.test_access_browser import sign_in
from tests.access_requests.test_requests import add_member, approved_request, make_group
from tests.factories import make_user_with_role
from tests.model_bench import onnx_builders
from tests.model_bench.conftest import make_bench_release
from tests.model_bench.test_submissions import csv_for
from tests.portal import test_browser
from tests.portal.test_browser import screenshot
from tests.roles import Role

browser_page = test_browser.browser_page


@pytest.mark.browser
@pytest.mark.usefixtures("published_releases_live", "local_storage")
@pytest.mark.django_db(transaction=True)
def test_submit_a_csv_see_it_scored_and_on_the_board(live_server, browser_page, tmp_path):
    curator = make_user_with_role(Role.CURATOR)
    version = make_bench_release(curator)
    task = create_task(slug="cin2", version=version, kind="image-classification",
                       label="histology_cin2", actor=curator, steps=["after_acetic_acid"],
                       image_size=32, title="CIN2+ after acetic acid")  # fmt: skip
    BenchmarkJob.objects.create(
        task=task, model="baseline", seed=0, state=JobState.SUCCEEDED, finished_at=timezone.now(),
        results={"rows": [{"model": "baseline", "level": "image", "n_test": 9,
                           "metrics": {"auc": {"value": 0.61, "ci_low": 0.41, "ci_high": 0.79}}}]},
    )  # fmt: skip
    leaderboard.refresh(task)
    researcher = make_user_with_role(Role.RESEARCHER, email="amina@ucad.example")
    group = make_group(pi=researcher)
    add_member(group, make_user_with_role(Role.RESEARCHER))
    approved_request(group=group, requester=researcher, releases=[version], accessors=[researcher])
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(csv_for(task))
    bad.write_bytes(b"image_id,probability\nnot-an-image,1.5\n")
    url, page = live_server.url, browser_page

    sign_in(page, url, researcher.email)
    page.goto(f"{url}/benchmarks/cin2/")
    page.get_by_role("link", name="Submit your results").click()
    page.get_by_label("Predictions (CSV)").set_input_files(str(good))
    page.get_by_label("Title").fill("Dakar ResNet")
    page.get_by_label("Architecture").fill("ResNet-18, 224 px")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector('[data-state="scored"]')  # the eager worker scored it on commit
    text = page.locator("main").inner_text()
    assert "Image level, n = " in text and "positive predictive value" in text
    # The picture loads after the page does: wait for it to decode rather than read it at once.
    page.wait_for_function(
        "() => { const i = document.querySelector('img[alt=\"ROC curve\"]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    screenshot(page, "submission-scored")

    model = tmp_path / "model.onnx"  # an ONNX model: the worker runs it on the test images
    model.write_bytes(onnx_builders.classifier(32))
    page.goto(f"{url}/benchmarks/cin2/submit/")
    page.get_by_label("Predictions (CSV)").set_input_files(str(model))
    page.get_by_label("Title").fill("Dakar ONNX")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector('[data-state="scored"]')
    assert "Image level, n = " in page.locator("main").inner_text()
    screenshot(page, "submission-onnx-scored")

    page.goto(f"{url}/benchmarks/cin2/submit/")
    page.get_by_label("Predictions (CSV)").set_input_files(str(bad))
    page.get_by_label("Title").fill("Broken file")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector("[data-errors]")
    refused = page.locator("[data-errors]").inner_text()
    assert "not a probability" in refused and "not in the task" in refused
    screenshot(page, "submission-invalid")

    visitor = page.context.browser.new_context().new_page()
    visitor.goto(f"{url}/benchmarks/cin2/")
    board = visitor.locator("[data-leaderboard]").inner_text()
    # The group's best entry of its two (BENCHMARK_LEADERBOARD_POLICY = "best").
    assert (
        ("Dakar ResNet" in board) != ("Dakar ONNX" in board)
        and "baseline" in board
        and "reference model" in board
    )
    assert "[0.410, 0.790]" in board and "Broken file" not in board
    assert visitor.get_by_role("link", name="ROC curve").count() == 1
    visitor.locator("[data-leaderboard] tbody tr:not([data-reference]) th a").first.click()
    visitor.wait_for_selector("[data-model-card]")
    assert "ResNet-18, 224 px" in visitor.locator("[data-model-card]").inner_text() or (
        "Dakar ONNX" in visitor.locator("h1").inner_text()
    )
    screenshot(visitor, "leaderboard")
