"""The core's step suggester (imagebank.hooks.register_step_suggester), from step_consistency's
classifier: for an image whose step is missing ("other") or only guessed from the file order,
the step its pixels suggest when they disagree with the guess.

A guess the pixels agree with is kept (an order-guessed "before acetic acid" that looks like a
colour image stays so: colour does not tell saline from acetic acid); one they contradict (a
"Lugol's iodine" guess on a colour image) is replaced, still as a guess to confirm.
"""

from curation.checks.image_checks import EXPECTED_KIND, suggest_step


def suggest(data: bytes, step: str) -> str | None:
    found = suggest_step(data)
    if found is None:
        return None
    suggested, _confidence = found
    if EXPECTED_KIND.get(step) == EXPECTED_KIND.get(suggested):
        return None  # the guess already looks right
    return suggested
