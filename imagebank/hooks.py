"""Extension points for the apps above imagebank, which it must not import.

`quality_checks` is a registry: curation registers the automated checks run on a submitted case.
`case_transitioned` is sent after every lifecycle transition is saved.
`case_panels` is a registry: apps above the core add sections to the case page (curation shows
the automated checks' results there).
"""

from collections.abc import Callable

from django.dispatch import Signal

case_transitioned = Signal()  # kwargs: case, from_state, to_state

_quality_checks: list[Callable] = []


def register_quality_check(check: Callable) -> Callable:
    """Register `check(case)`, run by the quality-check task; usable as a decorator."""
    if check not in _quality_checks:
        _quality_checks.append(check)
    return check


def unregister_quality_check(check: Callable) -> None:
    if check in _quality_checks:
        _quality_checks.remove(check)


def quality_checks() -> tuple[Callable, ...]:
    return tuple(_quality_checks)


_case_panels: list[Callable] = []


def register_case_panel(render: Callable) -> Callable:
    """Register `render(request, case)`, called by the case page (imagebank.views.case_page) for
    a user who may see the case; it returns the section's HTML, safe (e.g. render_to_string's
    output), or None to show nothing. Panels appear in the order they were registered, after the
    images. Usable as a decorator."""
    if render not in _case_panels:
        _case_panels.append(render)
    return render


def unregister_case_panel(render: Callable) -> None:
    if render in _case_panels:
        _case_panels.remove(render)


def case_panels() -> tuple[Callable, ...]:
    return tuple(_case_panels)
