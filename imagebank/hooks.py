"""Extension points for the apps above imagebank, which it must not import.

`quality_checks` is a registry: curation registers the automated checks run on a submitted case.
`case_transitioned` is sent after every lifecycle transition is saved.
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
