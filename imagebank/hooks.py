"""Extension points for the apps above imagebank, which it must not import.

`quality_checks` is a registry: curation registers the automated checks run on a submitted case.
`case_transitioned` is sent after every lifecycle transition is saved.
`case_panels` is a registry: apps above the core add sections to the case page (curation shows
the automated checks' results there).
`event_describers` is a registry: an app above the core says how the case history reads the
events it writes (curation: the review events; the case page shows those only to users who read
every case and to the event's actor).
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


_event_describers: dict[str, Callable] = {}


def register_event_describer(kind: str, describe: Callable) -> Callable:
    """Register `describe(event) -> list[str]` for the case events of `kind` an app above the core
    writes (curation: kind "review"): the lines the case history shows under the event's title
    instead of the names in `changes`. One describer per kind; the last registered wins."""
    _event_describers[str(kind)] = describe
    return describe


def unregister_event_describer(kind: str) -> None:
    _event_describers.pop(str(kind), None)


def describe_event(event) -> list[str] | None:
    """The registered describer's lines for `event`, or None where no describer is registered
    (or it failed: the history still shows the event, with the core's own description)."""
    import logging

    describe = _event_describers.get(event.kind)
    if describe is None:
        return None
    try:
        return [str(line) for line in describe(event)]
    except Exception:
        logging.getLogger(__name__).exception("event describer for %s failed", event.kind)
        return None


_image_processors: list[Callable] = []


def register_image_processor(process: Callable) -> Callable:
    """Register `process(image, data)`, called once an image is stored and processed (its
    previews made): by the process_image task with `data` the stored file's bytes, or after the
    commit of an import that made the previews itself with `data` None (the processor reads the
    stored file if it needs it). A help, never a condition: a processor
    that fails is logged and the image stays as it is (curation's duplicate check indexes the
    image again at submission). Usable as a decorator."""
    if process not in _image_processors:
        _image_processors.append(process)
    return process


def unregister_image_processor(process: Callable) -> None:
    if process in _image_processors:
        _image_processors.remove(process)


def run_image_processors(image, data: bytes | None) -> None:
    import logging

    for process in _image_processors:
        try:
            process(image, data)
        except Exception:
            logging.getLogger(__name__).exception(
                "image processor %s failed on image %s", process, getattr(image, "pk", None)
            )
