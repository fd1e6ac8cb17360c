"""A French-speaking contributor in a real browser: chooses French from the language menu, signs
in, and reads the dashboard entirely in French (no string of ours left in English)."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation

from tests.factories import PASSWORD, make_case, make_contributor, make_site
from tests.portal import test_browser
from tests.portal.test_browser import screenshot

browser_page = test_browser.browser_page


def _english_strings_translated_differently(language: str) -> set[str]:
    """Our msgids whose translation differs from the English: seeing one on a page means that
    part of the page was not translated."""
    path = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
    with open(path, "rb") as po:
        catalogue = read_po(po, locale=language)
    return {
        message.id
        for message in catalogue
        if isinstance(message.id, str)
        and message.string
        and message.string != message.id
        and "%" not in message.id
        and len(message.id) > 3
    }


def _visible_texts(page) -> list[str]:
    return page.evaluate(
        """() => {
            const texts = [];
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
                const node = walker.currentNode;
                const box = node.parentElement && node.parentElement.getBoundingClientRect();
                const text = node.textContent.replace(/\\s+/g, ' ').trim();
                if (text && box && box.width > 0 && box.height > 0) texts.push(text);
            }
            return texts;
        }"""
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_contributor_signs_in_and_reads_the_dashboard_in_french(live_server, browser_page):
    page = browser_page
    site = make_site("thies", name="Centre de santé de Thiès", country="SN")
    contributor = make_contributor(site, email="sage-femme@thies.example", full_name="Awa Ndiaye")
    make_case(site, contributor, age_at_exam=31)

    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.select_option("#language", "fr")
    page.locator("footer form button[type=submit]").click()
    page.wait_for_function("document.documentElement.lang === 'fr'")

    with translation.override("fr"):
        dashboard = translation.gettext("Dashboard")
        own_cases = translation.gettext("Your site's cases")
    assert dashboard != "Dashboard" and own_cases != "Your site's cases"

    page.fill('input[name="login"]', contributor.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))
    screenshot(page, "dashboard-fr")

    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").first.inner_text().strip() == dashboard
    assert page.locator("h2#contrib").inner_text().strip() == own_cases
    english = _english_strings_translated_differently("fr")
    left_in_english = sorted({text for text in _visible_texts(page) if text in english})
    assert not left_in_english, f"English left on the French dashboard: {left_in_english}"
