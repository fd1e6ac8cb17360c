"""A release's image manifest: one row per image, as a pandas frame, CSV and Parquet.

The manifest is the researcher-facing index of a release. Its columns are a contract that
others script against (MANIFEST_COLUMNS, then one column per label in the release's order), and
its files must be byte-for-byte reproducible: the same rows give the same CSV and Parquet bytes,
so that the checksums published in the Croissant metadata can be re-derived.

The test split's labels are sequestered: whatever a row says, its label cells are empty here, the
one place every manifest file is made, so no caller can leak them by mistake.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SPLITS = ("train", "validation", "test")
SEQUESTERED_SPLIT = "test"

MANIFEST_COLUMNS = (
    "image_id",
    "path",
    "sha256",
    "bytes",
    "width",
    "height",
    "case",
    "subject",
    "site",
    "step",
    "order",
    "split",
)

_STRING_COLUMNS = ("image_id", "path", "sha256", "case", "subject", "site", "step", "split")
_REQUIRED_INT_COLUMNS = ("bytes", "order")
_OPTIONAL_INT_COLUMNS = ("width", "height")

# pandas dtypes of the fixed columns; every label column is "string".
_PANDAS_DTYPES: dict[str, str] = {
    **dict.fromkeys(_STRING_COLUMNS, "string"),
    "bytes": "int64",
    "width": "Int32",
    "height": "Int32",
    "order": "int32",
}
_ARROW_TYPES: dict[str, pa.DataType] = {
    **dict.fromkeys(_STRING_COLUMNS, pa.string()),
    "bytes": pa.int64(),
    "width": pa.int32(),
    "height": pa.int32(),
    "order": pa.int32(),
}
_INT32_MAX = 2**31 - 1


def _check_label_names(label_names: Sequence[str]) -> list[str]:
    names = list(label_names)
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"Label name {name!r} must be a non-empty string.")
        if name in MANIFEST_COLUMNS or name == "labels":
            raise ValueError(f"Label name {name!r} clashes with a manifest column.")
        if name in seen:
            raise ValueError(f"Label name {name!r} is given twice.")
        seen.add(name)
    return names


def _string_cell(index: int, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"Manifest row {index}: {key!r} must be a non-empty string, got {value!r}."
        )
    return value


def _int_cell(index: int, key: str, value: Any, *, optional: bool, upper: int | None) -> int | None:
    if value is None and optional:
        return None
    # bool is an int subclass, but True is never a size or a position.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"Manifest row {index}: {key!r} must be a non-negative integer, got {value!r}."
        )
    if upper is not None and value > upper:
        raise ValueError(f"Manifest row {index}: {key!r} is too large ({value}).")
    return value


def _label_cell(index: int, name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(
        f"Manifest row {index}: label {name!r} must be a string or None, got {value!r}."
    )


def manifest_frame(rows: Iterable[dict], label_names: Sequence[str]) -> pd.DataFrame:
    """One row per image, in the order given; the test split's label cells are always NA.

    Rows are read once and gathered column by column, so the only large object made is the frame
    itself (plus the per-column lists it is built from). A row without one of the fixed keys or
    "labels", or with a split outside SPLITS, raises ValueError naming the row and the key; a
    label absent from a row's "labels" is missing (NA).
    """
    names = _check_label_names(label_names)
    columns: dict[str, list] = {column: [] for column in (*MANIFEST_COLUMNS, *names)}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"Manifest row {index} must be a dict, got {type(row).__name__}.")
        for key in (*MANIFEST_COLUMNS, "labels"):
            if key not in row:
                raise ValueError(f"Manifest row {index} has no {key!r}.")
        split = row["split"]
        if split not in SPLITS:
            raise ValueError(
                f"Manifest row {index}: split {split!r} is not one of {', '.join(SPLITS)}."
            )
        for key in _STRING_COLUMNS:
            columns[key].append(_string_cell(index, key, row[key]))
        for key in _REQUIRED_INT_COLUMNS:
            upper = _INT32_MAX if key == "order" else None
            columns[key].append(_int_cell(index, key, row[key], optional=False, upper=upper))
        for key in _OPTIONAL_INT_COLUMNS:
            columns[key].append(_int_cell(index, key, row[key], optional=True, upper=_INT32_MAX))
        labels = row["labels"]
        if not isinstance(labels, dict):
            raise ValueError(f"Manifest row {index}: 'labels' must be a dict, got {labels!r}.")
        sequestered = split == SEQUESTERED_SPLIT
        for name in names:
            value = _label_cell(index, name, labels.get(name))
            columns[name].append(None if sequestered else value)
    arrays = {}
    for column in list(columns):
        # pop as we go: each column's list is dropped once its array exists.
        values = columns.pop(column)
        arrays[column] = pd.array(values, dtype=_PANDAS_DTYPES.get(column, "string"))
    return pd.DataFrame(arrays, copy=False)


def _label_columns(frame: pd.DataFrame) -> list[str]:
    fixed = list(frame.columns[: len(MANIFEST_COLUMNS)])
    if fixed != list(MANIFEST_COLUMNS):
        raise ValueError(
            f"Manifest columns must start with {', '.join(MANIFEST_COLUMNS)}; "
            f"got {', '.join(map(str, fixed))}."
        )
    return [str(column) for column in frame.columns[len(MANIFEST_COLUMNS) :]]


def _sequester_test_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame, with the test split's label cells emptied if any slipped through.

    A frame from manifest_frame never has any, so this returns it untouched (no copy); it guards
    the writers against a frame assembled or edited elsewhere.
    """
    labels = _label_columns(frame)
    is_test = frame["split"] == SEQUESTERED_SPLIT
    if not labels or not bool(frame.loc[is_test.fillna(False), labels].notna().any().any()):
        return frame
    guarded = frame.copy()
    guarded.loc[is_test.fillna(False), labels] = pd.NA
    return guarded


def write_csv(frame: pd.DataFrame, fileobj: IO) -> None:
    """UTF-8, a header, "," separators, "\\n" line ends, empty cells for NA, no index.

    fileobj may be a binary or a text file object (a text one should be opened with
    newline="" so that the line ends stay "\\n").
    """
    _sequester_test_labels(frame).to_csv(
        fileobj,
        index=False,
        sep=",",
        lineterminator="\n",
        na_rep="",
        encoding="utf-8",
    )


def _arrow_schema(frame: pd.DataFrame) -> pa.Schema:
    fields = [pa.field(column, _ARROW_TYPES[column]) for column in MANIFEST_COLUMNS]
    fields += [pa.field(column, pa.string()) for column in _label_columns(frame)]
    return pa.schema(fields)


def write_parquet(frame: pd.DataFrame, fileobj: IO[bytes]) -> None:
    """Parquet through pyarrow, no index, the manifest's column types, reproducible bytes.

    Parquet holds no timestamps; what could vary is fixed here: the schema (explicit, not
    inferred), the compression, the row-group size and the format version. The pandas metadata
    that pyarrow stores lets pandas.read_parquet give back the nullable Int32 and string dtypes.
    """
    frame = _sequester_test_labels(frame)
    table = pa.Table.from_pandas(frame, schema=_arrow_schema(frame), preserve_index=False)
    pq.write_table(
        table,
        fileobj,
        compression="snappy",
        row_group_size=1024 * 1024,
        version="2.6",
        use_dictionary=True,
        write_statistics=True,
        store_schema=True,
    )


def read_manifest_csv(fileobj: IO) -> pd.DataFrame:
    """A manifest CSV back as the frame manifest_frame makes (the same columns and dtypes).

    Only an empty cell is missing: a label value such as "NA" or "None" stays a string.
    """
    dtypes = defaultdict(lambda: "string", _PANDAS_DTYPES)
    frame = pd.read_csv(
        fileobj,
        sep=",",
        dtype=dtypes,
        keep_default_na=False,
        na_values=[""],
        encoding="utf-8",
    )
    _label_columns(frame)
    return frame
