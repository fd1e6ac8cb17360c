"""The one line every bench script ends with: `RESULT {json}`, its figures and their targets.

`print_result(figures, targets)` prints `RESULT` and one JSON object: the figures (floats rounded
to three places, keys sorted), a `targets` object naming each target and its bound, and a `met`
object saying for each target whether the figure meets it, so that runs on different days and
machines compare line by line. A target is `{"figure": "<dotted path in figures>", "max": x}` or
`"min": x`; a figure that was not measured (skipped) counts as not met.
"""

import json
from typing import Any


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item) for item in value]
    return value


def _figure(figures: dict, path: str) -> Any:
    value: Any = figures
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def target_met(figures: dict, target: dict) -> bool:
    value = _figure(figures, target["figure"])
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    if "max" in target and value > target["max"]:
        return False
    return not ("min" in target and value < target["min"])


def result_line(figures: dict, targets: dict[str, dict]) -> str:
    body = {
        **figures,
        "targets": targets,
        "met": {name: target_met(figures, target) for name, target in targets.items()},
    }
    return "RESULT " + json.dumps(rounded(body), sort_keys=True)


def print_result(figures: dict, targets: dict[str, dict]) -> None:
    print(result_line(figures, targets), flush=True)
