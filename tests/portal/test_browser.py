"""The contributor's main path in a real browser: sign in, record a case with four images, and see
them on the case page. Screenshots of each page (desktop and a 390px phone) go to /tmp/shots/."""

import os
import re
from pathlib import Path

import pytest

from fixtures.synthetic_cervix import sequence
from imagebank.models import Case
from tests.conftest import require_service
from tests.factories import PASSWORD, make_case, make_contributor, make_site

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path("/tmp/shots")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser_page(monkeypatch):
    require_service(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # afterwards are still synchronous, so Django's async guard must stand down.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        external: list[str] = []
        page.on(
            "request",
            lambda request: (
                external.append(request.url)
                if not re.match(
                    r"^(https?://(localhost|127\.0\.0\.1)[:/]|data:|blob:)", request.url
                )
                else None
            ),
        )
        yield page
        context.close()
        browser.close()
    assert external == [], f"the pages fetched something from outside: {external}"


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def assert_fits_phone(page) -> None:
    """At 390px nothing may push the page sideways (a common failure on phones)."""
    offenders = page.evaluate(
        """() => Array.from(document.querySelectorAll('body *'))
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
            .filter((el) => !el.closest('.table-wrap'))
            .filter((el) => el.parentElement.getBoundingClientRect().right <= window.innerWidth + 1)
            .slice(0, 5)
            .map((el) => `${el.tagName}.${el.className} ${el.getBoundingClientRect().right}`)"""
    )
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] and not offenders, (width, offenders)


def all_images_loaded(page, selector: str) -> bool:
    return page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector))
            .every((img) => img.complete && img.naturalWidth > 0)""",
        selector,
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_contributor_records_a_case_with_four_images(live_server, browser_page, tmp_path):
    page = browser_page
    site = make_site("kisumu", name="Kisumu County Hospital")
    contributor = make_contributor(site, email="nurse@kisumu.example", full_name="Achieng Otieno")
    make_case(site, contributor, age_at_exam=29)  # something on the dashboard already
    files = []
    for position, (step, data) in enumerate(sequence(seed=7), start=1):
        path = tmp_path / f"{position:02d}-{step}.jpg"
        path.write_bytes(data)
        files.append((step, path))
    chosen_steps = [step for step, _path in files]

    # Sign in through the real form.
    page.goto(f"{live_server.url}/accounts/login/")
    screenshot(page, "login")
    page.fill('input[name="login"]', contributor.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))
    assert page.locator("h2#contrib").is_visible()
    screenshot(page, "dashboard")
    page.set_viewport_size(PHONE)
    screenshot(page, "dashboard-390")
    assert_fits_phone(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    # New case, from the big button.
    page.get_by_role("link", name=re.compile("New case")).first.click()
    page.wait_for_url(re.compile(r"/cases/new/$"))
    page.fill("#id_local_patient_id", "KCH/2024/00917")
    page.fill("#id_age_at_exam", "36")
    page.fill("#id_exam_year", "2024")
    page.select_option("#id_screening_context", "screen_positive_triage")
    page.select_option("#id_hpv_result", "hpv16_18_positive")
    page.select_option("#id_transformation_zone", "type_2")
    page.check('input[name="grade_2_findings"][value="dense_acetowhite"]')
    page.select_option("#id_via_result", "positive")
    page.set_input_files('input[name="images"]', [str(path) for _step, path in files])

    items = page.locator("[data-file-item]")
    assert items.count() == 4
    # Set every step explicitly, as a clinician checking each image would.
    steps = page.locator("select[data-file-step]")
    for index, step in enumerate(chosen_steps):
        steps.nth(index).select_option(step)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.file-thumb')).every("
        "(img) => img.complete && img.naturalWidth > 0)"
    )
    screenshot(page, "new-case")
    page.set_viewport_size(PHONE)
    screenshot(page, "new-case-390")
    assert_fits_phone(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Save draft case").click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))

    # Four previews, loaded for real, in the order and with the steps chosen.
    shots = page.locator("figure.shot")
    assert shots.count() == 4
    page.wait_for_function(
        "() => { const imgs = document.querySelectorAll('figure.shot img');"
        " return imgs.length === 4 && Array.from(imgs).every("
        "(img) => img.complete && img.naturalWidth > 0); }"
    )
    assert all_images_loaded(page, "figure.shot img")
    assert [shots.nth(i).get_attribute("data-step") for i in range(4)] == chosen_steps
    assert page.locator("figure.shot .order").all_inner_texts() == ["1", "2", "3", "4"]

    case = Case.objects.get(subject__site=site, age_at_exam=36)
    assert page.url.endswith(f"/cases/{case.pk}/")
    assert list(case.images.order_by("display_order").values_list("step", flat=True)) == (
        chosen_steps
    )
    assert case.grade_2_findings == ["dense_acetowhite"]
    screenshot(page, "case")
    page.set_viewport_size(PHONE)
    screenshot(page, "case-390")
    assert_fits_phone(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    # A click opens the larger preview.
    page.locator("figure.shot a[data-zoom]").first.click()
    dialog = page.locator("dialog[data-lightbox]")
    assert dialog.is_visible()
    page.wait_for_function(
        "() => { const img = document.querySelector('[data-lightbox-img]');"
        " return img.complete && img.naturalWidth > 256; }"
    )
    screenshot(page, "case-preview")
    page.get_by_role("button", name="Close").click()
    assert not dialog.is_visible()

    # A file that is not an image is refused by name, and no case is left behind.
    cases_before = Case.objects.count()
    fake = tmp_path / "05-scan.jpg"
    fake.write_text("not an image")
    page.goto(f"{live_server.url}/cases/new/")
    page.fill("#id_local_patient_id", "KCH/2024/00918")
    page.set_input_files('input[name="images"]', [str(files[0][1]), str(fake)])
    page.get_by_role("button", name="Save draft case").click()
    page.wait_for_selector(".file-reports li.bad")
    assert (
        "05-scan.jpg is not a readable image" in page.locator(".file-reports li.bad").inner_text()
    )
    assert Case.objects.count() == cases_before
    screenshot(page, "new-case-error")

    page.goto(f"{live_server.url}/cases/")
    assert page.locator("table.stack tbody tr").count() == cases_before
    screenshot(page, "cases")
    page.goto(f"{live_server.url}/accounts/email/")
    screenshot(page, "account")
    assert os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE") == "true"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_guessed_steps_are_said_and_corrected_on_the_case_page(live_server, browser_page, tmp_path):
    page = browser_page
    site = make_site("kisumu", name="Kisumu County Hospital")
    contributor = make_contributor(site, email="nurse@kisumu.example", full_name="Achieng Otieno")
    files = []
    for position, (_step, data) in enumerate(sequence(seed=9)[:3], start=1):
        path = tmp_path / f"IMG_{position:04d}.jpg"
        path.write_bytes(data)
        files.append(path)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="login"]', contributor.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))

    page.goto(f"{live_server.url}/cases/new/")
    page.fill("#id_local_patient_id", "KCH/2024/01001")
    page.fill("#id_source_reference", "Case 002")
    page.select_option("#id_adequacy", "adequate")
    page.select_option("#id_transformation_zone", "type_1")
    page.set_input_files('input[name="images"]', [str(path) for path in files])

    # Every step starts as a guess from the file order, and says so next to the file.
    hints = page.locator("[data-file-guess]")
    assert hints.count() == 3
    assert all(hints.nth(i).is_visible() for i in range(3))
    assert "Guessed from the file order" in hints.first.inner_text()
    assert page.locator("[data-file-hint]").is_visible()
    # Ticking "Step checked" confirms a guess; choosing a step confirms it; the third is left.
    page.locator("[data-file-confirm]").nth(0).check()
    page.locator("select[data-file-step]").nth(1).select_option("after_lugol")
    assert not hints.nth(0).is_visible() and not hints.nth(1).is_visible()
    assert hints.nth(2).is_visible()
    screenshot(page, "new-case-guesses")
    page.set_viewport_size(PHONE)
    assert_fits_phone(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Save draft case").click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    case = Case.objects.get(source_reference="Case 002")
    assert list(case.images.order_by("display_order").values_list("step_is_guess", flat=True)) == [
        False,
        False,
        True,
    ]
    guessed = page.locator(".shot .step-guess")
    assert guessed.count() == 1
    assert "Step guessed from the file order" in guessed.first.inner_text()
    assert "Case 002" in page.locator(".case-facts").inner_text()
    # No image after acetic acid yet (the third was guessed green filter): submit must wait.
    assert page.locator('[data-missing="core_steps"]').count() == 1
    assert page.get_by_role("button", name="Submit for review").is_disabled()

    # Correct the third image's step and move it second, then save: the guess is gone.
    third = case.images.order_by("display_order").last()
    page.select_option(f"#id_step_{third.pk}", "after_acetic_acid")
    page.locator("figure.shot").nth(2).get_by_role("button", name="Move earlier").click()
    assert page.input_value(f"#id_order_{third.pk}") == "2"
    screenshot(page, "case-arrange")
    page.get_by_role("button", name="Save steps and order").click()
    page.wait_for_url(re.compile(r"/cases/\d+/#images-h$"))
    third.refresh_from_db()
    assert (third.display_order, third.step, third.step_is_guess) == (2, "after_acetic_acid", False)
    assert page.locator(".shot .step-guess").count() == 0
    assert page.locator("[data-missing]").count() == 0
    assert page.get_by_role("button", name="Submit for review").is_enabled()
    page.set_viewport_size(PHONE)
    screenshot(page, "case-arrange-390")
    assert_fits_phone(page)
