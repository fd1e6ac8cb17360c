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


_step_suggesters: list[Callable] = []


def register_step_suggester(suggest: Callable) -> Callable:
    """Register `suggest(data, step) -> str | None`: for an image whose step was not given (or
    only guessed, e.g. from the file order), the step its pixels suggest, or None to keep `step`.
    curation registers its step classifier (docs/quality-checks.md, step_consistency)."""
    if suggest not in _step_suggesters:
        _step_suggesters.append(suggest)
    return suggest


def unregister_step_suggester(suggest: Callable) -> None:
    if suggest in _step_suggesters:
        _step_suggesters.remove(suggest)


def suggest_step(data: bytes, step: str) -> str | None:
    """The first registered suggestion for an image whose step is a guess, or None. A suggester
    that fails suggests nothing: a suggestion is a help, never a reason to refuse an image."""
    import logging

    for suggest in _step_suggesters:
        try:
            suggested = suggest(data, step)
        except Exception:
            logging.getLogger(__name__).exception("step suggester %s failed", suggest)
            continue
        if suggested and suggested != step:
            return suggested
    return None
