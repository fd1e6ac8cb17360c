"""Reading and validating a predictions CSV submitted for a classification task (issue 15).

The file is keyed by the release manifest's `image_id` (image-level tasks) or `case` code
(case-level tasks). A binary task has the header `image_id,probability` (or `case,probability`),
the probability being that of the task's positive class (its last class); a task of more classes
has one column per class, named as the task names them, each row's probabilities summing to 1.
The columns may come in any order.

Everything is checked before anything counts, and every problem is reported, not only the first:
the encoding (UTF-8, with or without a byte-order mark), the CSV syntax, the header (missing,
unknown, duplicated or empty columns), each row (its number of fields, an empty, unknown or
duplicated identifier, a value that is not a number, NaN or infinite, outside [0, 1], or
probabilities that do not sum to 1) and the identifiers of the test split that have no row.
An error names its row (the line of the file, the header being row 1) and its column where it has
one. Nothing here reads a test label: the identifiers expected are the test split's image ids and
case codes, which the release manifest publishes anyway; scoring is evaluation's.
"""

import csv
import io
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _

from curation import benchmark_selectors
from model_bench.models import BenchmarkTask

IMAGE_KEY = "image_id"
CASE_KEY = "case"
BINARY_COLUMN = "probability"
# How far a row's probabilities may be from summing to 1: rounding to 4 decimals and float
# printing stay well inside it, a wrong row does not.
SUM_TOLERANCE = 1e-3
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# Beyond this many, errors are summarised: a file with every row wrong says so in a few lines.
MAX_ERRORS = 100


@dataclass(frozen=True)
class PredictionError:
    """One problem of a submitted file: its row and column (a CSV), or the file it is about (a
    member of a ZIP of masks, an ONNX model's input or output)."""

    row: int | None
    column: str | None
    message: str
    file: str | None = None

    def as_dict(self) -> dict:
        found = asdict(self)
        if found["file"] is None:  # a CSV's errors keep the shape score_predictions --json has
            del found["file"]
        return found


class InvalidPredictions(Exception):  # noqa: N818 (a domain name, as Django's ValidationError)
    def __init__(self, errors: list[PredictionError]):
        super().__init__("; ".join(error.message for error in errors[:3]))
        self.errors = errors


@dataclass(frozen=True)
class SplitItems:
    """The test split of a task as predictions see it: its images' ids and case codes, in the
    manifest's order. Duck-types the ImageSet that evaluation scores."""

    image_ids: list[str]
    case_codes: list[str]
    # (width, height) of each image as the manifest records it (None when it does not).
    sizes: list[tuple[int | None, int | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Predictions:
    """Valid predictions, aligned with `items`: one row of class probabilities per test image
    (a case's probabilities repeated on each of its images for a case-level task, which scores
    the same, a case's score being the mean of its images')."""

    items: SplitItems
    probabilities: np.ndarray  # float64 (N images, C classes)
    rows: int


def test_items(task: BenchmarkTask) -> SplitItems:
    rows = benchmark_selectors.split_images(task.version, "test", steps=task.steps)
    found = list(rows.values_list("image_id", "case_code", "width", "height"))
    return SplitItems(
        image_ids=[row[0] for row in found],
        case_codes=[row[1] for row in found],
        sizes=[(row[2], row[3]) for row in found],
    )


def key_column(task: BenchmarkTask) -> str:
    return CASE_KEY if task.case_level else IMAGE_KEY


def value_columns(task: BenchmarkTask) -> list[str]:
    return [BINARY_COLUMN] if len(task.classes) == 2 else list(task.classes)


def expected_header(task: BenchmarkTask) -> list[str]:
    return [key_column(task), *value_columns(task)]


def max_bytes() -> int:
    return int(getattr(settings, "SUBMISSION_MAX_CSV_BYTES", DEFAULT_MAX_BYTES))


class Errors:
    """The errors found, capped at MAX_ERRORS with a count of those left out."""

    def __init__(self) -> None:
        self.found: list[PredictionError] = []
        self.left_out = 0

    def add(self, row: int | None, column: str | None, message: str, file: str | None = None):
        if len(self.found) < MAX_ERRORS:
            self.found.append(PredictionError(row, column, message, file))
        else:
            self.left_out += 1

    def result(self) -> list[PredictionError]:
        if self.left_out:
            message = _("… and %(n)s more errors.") % {"n": self.left_out}
            return [*self.found, PredictionError(None, None, message)]
        return self.found

    def __bool__(self) -> bool:
        return bool(self.found)


def _decode(data: bytes) -> str:
    if len(data) > max_bytes():
        limit = max_bytes() // (1024 * 1024)
        raise InvalidPredictions(
            [
                PredictionError(
                    None, None, _("The file is larger than %(limit)s MB.") % {"limit": limit}
                )
            ]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        message = _("The file is not UTF-8 text (byte %(byte)s, line %(line)s).") % {
            "byte": error.start + 1,
            "line": line,
        }
        raise InvalidPredictions([PredictionError(line, None, message)]) from error
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InvalidPredictions(
            [PredictionError(line, None, _("The file holds a NUL character: it is not a CSV."))]
        )
    if not text.strip():
        raise InvalidPredictions([PredictionError(None, None, _("The file is empty."))])
    return text


def _header_positions(task: BenchmarkTask, header: list[str], errors: Errors) -> dict[str, int]:
    """Where each expected column is; every problem of the header in `errors`."""
    wanted = expected_header(task)
    names = [name.strip() for name in header]
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            errors.add(1, None, _("Column %(n)s has no name.") % {"n": index + 1})
        elif name in positions:
            errors.add(1, name, _("The column “%(column)s” appears twice.") % {"column": name})
        elif name not in wanted:
            errors.add(
                1,
                name,
                _("Unknown column “%(column)s”; the columns are %(columns)s.")
                % {"column": name, "columns": ", ".join(wanted)},
            )
        else:
            positions[name] = index
    for name in wanted:
        if name not in positions:
            errors.add(
                1,
                name,
                _("The column “%(column)s” is missing; the columns are %(columns)s.")
                % {"column": name, "columns": ", ".join(wanted)},
            )
    return positions


def _probability(text: str, row: int, column: str, errors: Errors) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        errors.add(row, column, _("“%(value)s” is not a number.") % {"value": text[:40]})
        return None
    if math.isnan(value):
        errors.add(row, column, _("The value is NaN (not a number)."))
        return None
    if math.isinf(value):
        errors.add(row, column, _("The value is infinite."))
        return None
    if not 0.0 <= value <= 1.0:
        errors.add(row, column, _("%(value)s is not a probability (0 to 1).") % {"value": value})
        return None
    return value


def parse(task: BenchmarkTask, data: bytes, items: SplitItems | None = None) -> Predictions:
    """The predictions of `data` for `task`'s test split, or InvalidPredictions with every error
    (capped at MAX_ERRORS)."""
    if task.is_segmentation:
        raise InvalidPredictions(
            [PredictionError(None, None, _("A segmentation task takes a ZIP of mask PNGs."))]
        )
    text = _decode(data)
    items = items or test_items(task)
    key = key_column(task)
    columns = value_columns(task)
    expected_ids = set(items.case_codes if task.case_level else items.image_ids)
    errors = Errors()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as error:
        raise InvalidPredictions(
            [PredictionError(1, None, _("Not a CSV: %(detail)s") % {"detail": error})]
        ) from error
    positions = _header_positions(task, header, errors)
    if errors:
        raise InvalidPredictions(errors.result())
    found: dict[str, tuple[int, list[float]]] = {}
    rows = 0
    try:
        for record in reader:
            row = reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line
            rows += 1
            if len(record) != len(header):
                errors.add(
                    row,
                    None,
                    _("The row has %(found)s fields; the header has %(wanted)s.")
                    % {"found": len(record), "wanted": len(header)},
                )
                continue
            identifier = record[positions[key]].strip()
            values = [_probability(record[positions[c]], row, c, errors) for c in columns]
            if not identifier:
                errors.add(row, key, _("The identifier is empty."))
                continue
            if identifier in found:
                errors.add(
                    row,
                    key,
                    _("“%(id)s” has a row already (row %(first)s).")
                    % {"id": identifier, "first": found[identifier][0]},
                )
                continue
            if identifier not in expected_ids:
                errors.add(
                    row,
                    key,
                    _("“%(id)s” is not in the task's test split.") % {"id": identifier[:80]},
                )
                continue
            if None in values:
                found[identifier] = (row, [])
                continue
            if len(columns) > 1 and abs(sum(values) - 1.0) > SUM_TOLERANCE:
                errors.add(
                    row,
                    None,
                    _("The probabilities sum to %(sum)s, not 1.") % {"sum": round(sum(values), 6)},
                )
            found[identifier] = (row, values)
    except csv.Error as error:
        errors.add(reader.line_num, None, _("Not a CSV: %(detail)s") % {"detail": error})
    for identifier in sorted(expected_ids - found.keys()):
        errors.add(None, key, _("“%(id)s” of the test split has no row.") % {"id": identifier})
    if errors:
        raise InvalidPredictions(errors.result())
    return Predictions(items=items, probabilities=_aligned(task, items, found), rows=rows)


def _aligned(task: BenchmarkTask, items: SplitItems, found: dict) -> np.ndarray:
    keys = items.case_codes if task.case_level else items.image_ids
    values = np.asarray([found[k][1] for k in keys], dtype=np.float64).reshape(len(keys), -1)
    if values.shape[1] == 1:  # binary: the probability of the positive (last) class
        values = np.hstack([1.0 - values, values])
    return values
