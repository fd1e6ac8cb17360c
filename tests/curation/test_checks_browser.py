"""The automated checks on the case page in a real browser (Chromium): the verdict badges, the
value and threshold shown on keyboard focus and on tap, and the blood overlay toggled over the
preview; the curators' Quality flags page at a phone's width. The results are rows the test
creates (the lead's end-to-end test runs the real checks). Screenshots go to /tmp/shots/."""

import pytest
from django.conf import settings
from django.test import Client

from tests.curation.test_case_checks_panel import checked_case, result
from tests.factories import make_user_with_role
from tests.portal import test_browser
from tests.portal.test_browser import PHONE, assert_fits_phone, screenshot
from tests.roles import Role
from tests.totp import with_totp

# The same browser fixture as the other browser tests: skips (or fails under REQUIRE_SERVICES=1)
# when Chromium is not installed, and fails a test whose pages fetch anything from outside.
browser_page = test_browser.browser_page

DESKTOP = {"width": 1280, "height": 900}


def sign_in(page, live_server, user) -> None:
    """The browser carries the session of a user signed in by the test client."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def figures_shown(page, result_pk: int) -> bool:
    return page.locator(f"#check-figures-{result_pk}").is_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_badges_figures_and_the_blood_overlay_on_the_case_page(live_server, browser_page):
    page = browser_page
    case, images, rows = checked_case()
    sign_in(page, live_server, case.created_by)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    panel = page.locator("[data-check-panel]")
    panel.wait_for()
    # Previews loaded.
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.check-preview'))"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )

    # The verdicts, in words.
    blood = panel.locator('[data-check="blood"]')
    assert "Fail" in blood.locator(".verdict").inner_text()
    assert "Warning" in panel.locator('[data-check="glare"] .verdict').inner_text()
    assert "Check failed to run" in panel.locator('[data-check="exposure"] .verdict').inner_text()
    assert "Blood covers 42% of the cervix." in blood.inner_text()

    # Value and threshold: hidden at first, shown on keyboard focus, gone when focus moves on.
    page.mouse.move(0, 0)
    assert not figures_shown(page, rows["blood"].pk)
    toggle = blood.get_by_role("button")
    page.locator('[data-check="sequence_complete"] button').focus()
    page.keyboard.press("Tab")  # keyboard focus, as a keyboard user reaches the badge
    # (the image blocks come after the case-level result; walk on to the blood badge)
    for _ in range(10):
        if toggle.evaluate("(el) => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    assert toggle.evaluate("(el) => el === document.activeElement")
    assert figures_shown(page, rows["blood"].pk)
    figures = page.locator(f"#check-figures-{rows['blood'].pk}").inner_text()
    assert "0.4213" in figures and "0.25" in figures
    screenshot(page, "checks-focus")
    page.keyboard.press("Tab")
    assert not figures_shown(page, rows["blood"].pk)

    # On tap (a click), the figures stay until tapped again; aria-expanded says so.
    glare = panel.locator('[data-check="glare"]').get_by_role("button")
    glare.click()
    page.mouse.move(0, 0)
    assert glare.get_attribute("aria-expanded") == "true"
    assert figures_shown(page, rows["glare"].pk)
    glare.click()
    page.mouse.move(0, 0)
    assert glare.get_attribute("aria-expanded") == "false"

    # The blood overlay: hidden until its button is pressed, drawn over the preview, then hidden.
    overlay = page.locator(f"#overlay-{rows['blood'].pk}")
    button = panel.get_by_role("button", name="Blood overlay")
    assert button.get_attribute("aria-pressed") == "false"
    assert not overlay.is_visible()
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    assert overlay.is_visible()
    page.wait_for_function(
        "(id) => { const img = document.getElementById(id);"
        " return img.complete && img.naturalWidth > 0; }",
        arg=f"overlay-{rows['blood'].pk}",
    )
    preview = panel.locator(f'[data-check-image="{images[0].pk}"] .check-preview').bounding_box()
    drawn = overlay.bounding_box()
    assert drawn == preview  # stacked exactly over the preview
    assert not page.locator(f"#overlay-{rows['glare'].pk}").is_visible()
    screenshot(page, "checks-blood-overlay")
    button.press("Enter")  # the keyboard works the toggle too
    assert button.get_attribute("aria-pressed") == "false"
    assert not overlay.is_visible()

    page.set_viewport_size(PHONE)
    panel.scroll_into_view_if_needed()
    screenshot(page, "checks-390")
    assert_fits_phone(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_quality_flags_page_fits_a_phone(live_server, browser_page):
    page = browser_page
    case, images, rows = checked_case()
    result(case, images[2], "blood", "warn", value=0.12, threshold=0.1)
    curator = make_user_with_role(Role.CURATOR)
    with_totp(curator)
    sign_in(page, live_server, curator)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Quality flags").click()
    page.wait_for_selector("[data-most-flagged]")
    assert "50 %" in page.locator('[data-flag-rates="site"]').inner_text()
    screenshot(page, "quality-flags")
    page.set_viewport_size(PHONE)
    screenshot(page, "quality-flags-390")
    assert_fits_phone(page)
    page.set_viewport_size(DESKTOP)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Check thresholds").click()
    page.wait_for_selector("#threshold-form")
    screenshot(page, "check-thresholds")
    page.set_viewport_size(PHONE)
    assert_fits_phone(page)
