"""End to end, in Chromium, with the real checks: a contributor uploads a case in the browser and
submits it; the checks run (the tasks run eagerly in the live server) and the case reaches review
with every check's result on its page; the blood-covered image and the acetic-acid image labelled
Lugol's iodine are flagged, and the blood overlay toggles over its preview."""

import re

import pytest

from curation.checks import registry
from curation.models import CheckResult
from fixtures.synthetic_cervix import Artefacts, render_jpeg
from imagebank.lifecycle import CaseState
from imagebank.models import Case
from tests.factories import PASSWORD, make_contributor, make_site
from tests.portal import test_browser
from tests.portal.test_browser import screenshot

browser_page = test_browser.browser_page

FLAGGED = ("warn", "fail")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_uploaded_case_reaches_review_with_every_check_on_its_page(
    live_server, browser_page, tmp_path
):
    page = browser_page
    site = make_site("kisumu", name="Kisumu County Hospital")
    contributor = make_contributor(site, email="nurse@kisumu.example")
    uploads = [
        ("before_acetic_acid", render_jpeg("before_acetic_acid", seed=31, size=(800, 600))),
        (
            "after_acetic_acid",
            render_jpeg(
                "after_acetic_acid", seed=31, size=(800, 600), artefacts=Artefacts(blood=1.0)
            ),
        ),
        # An image after acetic acid, labelled Lugol's iodine: the wrong step.
        ("after_lugol", render_jpeg("after_acetic_acid", seed=32, size=(800, 600))),
    ]
    paths = []
    for position, (_step, data) in enumerate(uploads, start=1):
        path = tmp_path / f"IMG_{position:04d}.jpg"
        path.write_bytes(data)
        paths.append(path)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="login"]', contributor.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.goto(f"{live_server.url}/cases/new/")
    page.fill("#id_local_patient_id", "KCH/2024/02001")
    page.select_option("#id_adequacy", "adequate")
    page.select_option("#id_transformation_zone", "type_1")
    page.set_input_files('input[name="images"]', [str(path) for path in paths])
    steps = page.locator("select[data-file-step]")
    for index, (step, _data) in enumerate(uploads):
        steps.nth(index).select_option(step)
    page.get_by_role("button", name="Save draft case").click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))

    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    case = Case.objects.get(site=site)
    assert case.state == CaseState.IN_REVIEW

    panel = page.locator("[data-check-panel]")
    panel.wait_for()
    images = list(case.images.order_by("display_order"))
    image_checks = [check.name for check in registry.checks("image")]
    for image in images:
        block = panel.locator(f'[data-check-image="{image.pk}"]')
        shown = block.locator("[data-check]").evaluate_all(
            "(badges) => badges.map((b) => b.dataset.check)"
        )
        assert sorted(shown) == sorted(image_checks), shown
    assert panel.locator('[data-check="sequence_complete"]').count() == 1

    bloody, mislabelled = images[1], images[2]
    blood = CheckResult.objects.get(image=bloody, check_name="blood")
    assert blood.verdict in FLAGGED, blood.detail
    step = CheckResult.objects.get(image=mislabelled, check_name="step_consistency")
    assert step.verdict == "fail", step.detail
    badge = panel.locator(f'[data-check-image="{mislabelled.pk}"] [data-check="step_consistency"]')
    assert badge.get_attribute("data-verdict") == "fail"
    assert (
        panel.locator(f'[data-check-image="{bloody.pk}"] [data-check="blood"]').get_attribute(
            "data-verdict"
        )
        == blood.verdict
    )

    # The blood overlay toggles over the bloody image's preview.
    block = panel.locator(f'[data-check-image="{bloody.pk}"]')
    button = block.get_by_role("button", name="Blood overlay")
    overlay = page.locator(f"#overlay-{blood.pk}")
    assert not overlay.is_visible()
    button.click()
    assert button.get_attribute("aria-pressed") == "true" and overlay.is_visible()
    page.wait_for_function(
        "(id) => { const img = document.getElementById(id);"
        " return img.complete && img.naturalWidth > 0; }",
        arg=f"overlay-{blood.pk}",
    )
    screenshot(page, "checks-end-to-end")
    button.click()
    assert not overlay.is_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_upload_form_suggests_a_step_the_pixels_show(live_server, browser_page, tmp_path):
    """A Lugol's image chosen first is guessed "before acetic acid" from the file order; the
    step classifier, sent a small copy, suggests Lugol's iodine, said so next to the file."""
    page = browser_page
    site = make_site("kisumu", name="Kisumu County Hospital")
    contributor = make_contributor(site, email="nurse@kisumu.example")
    lugol = tmp_path / "IMG_0001.jpg"
    lugol.write_bytes(render_jpeg("after_lugol", seed=41, size=(800, 600)))
    acetic = tmp_path / "IMG_0002.jpg"
    acetic.write_bytes(render_jpeg("after_acetic_acid", seed=41, size=(800, 600)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="login"]', contributor.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.goto(f"{live_server.url}/cases/new/")
    page.set_input_files('input[name="images"]', [str(lugol), str(acetic)])
    page.wait_for_selector("[data-file-suggested]")
    steps = page.locator("select[data-file-step]")
    assert steps.nth(0).input_value() == "after_lugol"
    assert "Suggested from the image" in page.locator("[data-file-guess]").nth(0).inner_text()
    # The second guess (after acetic acid) already looks right: it stays, a guess from the order.
    assert steps.nth(1).input_value() == "after_acetic_acid"
    assert page.locator("[data-file-suggested]").count() == 1
    screenshot(page, "upload-step-suggested")
