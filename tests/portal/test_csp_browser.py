"""The Content-Security-Policy in a real browser: the pages, the API docs and the admin work under
it, and Chromium reports no violation (issue 8, item 7).

Violations are caught two ways: the `securitypolicyviolation` events the page fires (recorded by
a script Playwright injects, which the policy does not cover) and the "Refused to ..." errors
Chromium writes to the console.
"""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from fixtures.synthetic_cervix import sequence
from imagebank.models import User
from tests.factories import PASSWORD, add_core_images, make_case, make_contributor, make_site
from tests.portal import test_browser
from tests.totp import current_code

# The suite's browser (Debian's Chromium, skipped without it, failing a page that fetches anything
# from outside), with the violation recorder added to every page it opens.
browser_page = test_browser.browser_page

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${where}`
  );
});
"""


class Watched:
    """A page, with every CSP violation and console error it shows recorded."""

    def __init__(self, page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on(
            "console",
            lambda message: self.console.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))

    def violations(self) -> list[str]:
        events = self.page.evaluate("() => window.__cspViolations || []")
        refused = [text for text in self.console if "Content Security Policy" in text]
        return [*events, *refused]

    def assert_clean(self, where: str) -> None:
        # Events are dispatched asynchronously: let the page settle first.
        self.page.wait_for_load_state("networkidle")
        assert self.violations() == [], where
        assert [text for text in self.console if text.startswith("uncaught")] == [], where


@pytest.fixture
def watched(browser_page):
    browser_page.context.add_init_script(RECORD_VIOLATIONS)
    return Watched(browser_page)


def sign_in(watched: Watched, base_url: str, email: str, password: str = PASSWORD) -> None:
    page = watched.page
    page.goto(f"{base_url}/accounts/login/")
    watched.assert_clean("sign-in page")
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_and_api_docs_run_under_the_policy(live_server, watched, tmp_path):
    page = watched.page
    site = make_site("kisumu", name="Kisumu County Hospital")
    contributor = make_contributor(site, email="nurse@kisumu.example")
    case = make_case(site, contributor)
    add_core_images(case, contributor)

    response = page.goto(f"{live_server.url}/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    watched.assert_clean("home page")

    sign_in(watched, live_server.url, contributor.email)
    page.wait_for_url(re.compile(r"/dashboard/$"))
    assert page.evaluate("() => document.documentElement.classList.contains('js')")
    watched.assert_clean("dashboard")

    page.goto(f"{live_server.url}/cases/")
    watched.assert_clean("case list")

    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('figure.shot img'))
            .every((img) => img.complete && img.naturalWidth > 0)"""
    )
    assert page.locator("figure.shot img").count() == 3
    watched.assert_clean("case page")

    # The upload form's previews are blob: URLs made by its script.
    page.goto(f"{live_server.url}/cases/new/")
    photo = tmp_path / "before.jpg"
    photo.write_bytes(sequence(seed=3)[0][1])
    page.set_input_files('input[name="images"]', [str(photo)])
    page.wait_for_selector("[data-file-item]")
    watched.assert_clean("new case form")

    # The API docs: Swagger UI starts from its script file and lists the operations.
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock")
    assert "Cervical Image Bank API" in page.locator(".swagger-ui .info .title").inner_text()
    watched.assert_clean("API docs")

    # The policy is enforced and the watch sees it: an inline script injected now is refused.
    page.goto(f"{live_server.url}/dashboard/")
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__ran = true'; document.body.appendChild(s); }"""
    )
    page.wait_for_function("() => window.__cspViolations.length > 0")
    assert page.evaluate("() => window.__ran") is None
    assert any("script-src" in violation for violation in watched.violations())


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_admin_runs_under_the_policy(live_server, watched):
    page = watched.page
    site = make_site("kisumu", name="Kisumu County Hospital")
    case = make_case(site)
    admin = User.objects.create_superuser("root@example.org", PASSWORD)
    secret = generate_totp_secret()
    TOTP.activate(admin, secret)

    sign_in(watched, live_server.url, admin.email)
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill('input[name="code"]', current_code(secret))
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))

    for path in ("/admin/", "/admin/imagebank/case/", f"/admin/imagebank/case/{case.pk}/change/"):
        page.goto(f"{live_server.url}{path}")
        assert page.locator("#content").is_visible(), path
        watched.assert_clean(path)
    # The admin's own scripts run: the navigation sidebar toggles.
    page.goto(f"{live_server.url}/admin/imagebank/case/")
    toggle = page.locator("#toggle-nav-sidebar")
    if toggle.count():
        toggle.click()
    watched.assert_clean("admin after its scripts ran")
