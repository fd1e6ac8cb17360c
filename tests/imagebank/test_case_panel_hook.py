"""The case page's extension point (imagebank.hooks.register_case_panel): the apps above the core
add sections to the case page without the core importing them. A registered panel appears, in
order, for whoever sees the case; one returning None adds nothing; HTML not marked safe is
escaped."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from imagebank import hooks
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def panels(monkeypatch):
    """The registry for the test only: the apps' own panels are left out."""
    monkeypatch.setattr(hooks, "_case_panels", [])
    return hooks


def page_of(case) -> str:
    client = Client()
    client.force_login(case.created_by)
    response = client.get(reverse("imagebank:case-detail", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_registered_panels_appear_on_the_case_page_in_order(panels):
    seen = []

    def first(request, case):
        seen.append((request.user.pk, case.pk))
        return format_html('<section data-test-panel="first">{}</section>', case.pk)

    def second(request, case):
        return mark_safe('<section data-test-panel="second"></section>')

    assert panels.register_case_panel(first) is first
    panels.register_case_panel(second)
    panels.register_case_panel(first)  # registered once only
    case = make_case()
    page = page_of(case)
    assert page.count('data-test-panel="first"') == 1
    assert page.index('data-test-panel="first"') < page.index('data-test-panel="second"')
    assert f'<section data-test-panel="first">{case.pk}</section>' in page
    assert seen == [(case.created_by.pk, case.pk)]

    panels.unregister_case_panel(first)
    assert panels.case_panels() == (second,)
    assert 'data-test-panel="first"' not in page_of(case)


def test_a_panel_with_nothing_to_show_adds_nothing_and_plain_text_is_escaped(panels):
    panels.register_case_panel(lambda request, case: None)
    panels.register_case_panel(lambda request, case: "<b>not marked safe</b>")
    page = page_of(make_case())
    assert "&lt;b&gt;not marked safe&lt;/b&gt;" in page
    assert "<b>not marked safe</b>" not in page


def test_curation_registers_its_panel():
    from curation.views.case_checks import case_checks_panel

    assert case_checks_panel in hooks.case_panels()
