"""Predictions CSVs (issue 15): every malformed file refused with errors naming the row and the
column, valid ones aligned with the test split; `score_predictions` scores them as scikit-learn
does, the same numbers twice, and exits 1 with the errors in JSON on a bad file."""

import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.test import override_settings
from sklearn.metrics import roc_auc_score

from curation.models import SequesteredLabel
from model_bench.models import BenchmarkTask, TaskKind
from model_bench.services import predictions
from model_bench.services.benchmark_tasks import create_task
from model_bench.services.predictions import InvalidPredictions, SplitItems

ITEMS = SplitItems(image_ids=["i-1", "i-2", "i-3", "i-4"], case_codes=["C-1", "C-1", "C-2", "C-3"])


def binary_task(kind=TaskKind.IMAGE_CLASSIFICATION):
    return BenchmarkTask(kind=kind, classes=["negative", "positive"], label="x")


def three_class_task():
    return BenchmarkTask(kind=TaskKind.IMAGE_CLASSIFICATION, classes=["a", "b", "c"], label="x")


def errors_of(task, text, items=ITEMS):
    data = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(InvalidPredictions) as raised:
        predictions.parse(task, data, items)
    return [(e.row, e.column, e.message) for e in raised.value.errors]


VALID = "image_id,probability\ni-1,0.9\ni-2,0.1\ni-3,0.5\ni-4,1\n"


def test_a_valid_binary_file_gives_the_positive_class_last():
    parsed = predictions.parse(binary_task(), VALID.encode(), ITEMS)
    assert parsed.rows == 4
    np.testing.assert_allclose(parsed.probabilities[:, 1], [0.9, 0.1, 0.5, 1.0])
    np.testing.assert_allclose(parsed.probabilities.sum(axis=1), 1.0)


def test_column_order_byte_order_mark_crlf_blank_lines_and_quotes_are_accepted():
    text = '\ufeffprobability,image_id\r\n0.2,"i-3"\r\n\r\n0.3,i-1\r\n0.4,i-4\r\n0.5, i-2 \r\n'
    parsed = predictions.parse(binary_task(), text.encode("utf-8"), ITEMS)
    np.testing.assert_allclose(parsed.probabilities[:, 1], [0.3, 0.5, 0.2, 0.4])  # ITEMS' order


def test_a_case_level_task_is_keyed_by_case_and_repeats_the_case_on_its_images():
    task = binary_task(TaskKind.CASE_CLASSIFICATION)
    parsed = predictions.parse(task, b"case,probability\nC-2,0.7\nC-1,0.2\nC-3,0\n", ITEMS)
    np.testing.assert_allclose(parsed.probabilities[:, 1], [0.2, 0.2, 0.7, 0.0])
    assert errors_of(task, VALID)[0][:2] == (1, "image_id")


def test_more_classes_take_one_column_each_summing_to_one():
    task = three_class_task()
    text = "image_id,c,a,b\ni-1,0.2,0.5,0.3\ni-2,0,1,0\ni-3,0.3333,0.3333,0.3334\ni-4,0,0,1\n"
    parsed = predictions.parse(task, text.encode(), ITEMS)
    np.testing.assert_allclose(parsed.probabilities[0], [0.5, 0.3, 0.2])
    bad = "image_id,a,b,c\ni-1,0.5,0.5,0.5\ni-2,0,1,0\ni-3,0.2,0.2,0.6\ni-4,0,0,1\n"
    assert errors_of(task, bad) == [(2, None, "The probabilities sum to 1.5, not 1.")]
    assert errors_of(task, VALID)[0][:2] == (1, "probability")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("image_id\ni-1\n", [(1, "probability", "missing")]),
        ("image_id,probability,score\n", [(1, "score", "Unknown column")]),
        ("image_id,probability,image_id\n", [(1, "image_id", "twice")]),
        ("image_id,,probability\n", [(1, None, "no name")]),
        (
            "id,prob\n",
            [
                (1, "id", "Unknown"),
                (1, "prob", "Unknown"),
                (1, "image_id", "missing"),
                (1, "probability", "missing"),
            ],
        ),  # fmt: skip
    ],
)
def test_a_wrong_header_is_refused_naming_each_column(text, expected):
    found = errors_of(binary_task(), text)
    assert len(found) == len(expected)
    for (row, column, message), (e_row, e_column, e_text) in zip(found, expected, strict=True):
        assert (row, column) == (e_row, e_column) and e_text in message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nan", "NaN"),
        ("NaN", "NaN"),
        ("inf", "infinite"),
        ("-Infinity", "infinite"),
        ("1.0001", "not a probability"),
        ("-0.1", "not a probability"),
        ("abc", "not a number"),
        ("", "not a number"),
        ("0x1", "not a number"),
    ],
)
def test_a_bad_value_names_its_row_and_column(value, message):
    text = f"image_id,probability\ni-1,0.5\ni-2,{value}\ni-3,0.5\ni-4,0.5\n"
    [(row, column, text)] = errors_of(binary_task(), text)
    assert (row, column) == (3, "probability") and message in text


def test_identifiers_missing_unknown_duplicated_or_empty_are_each_named():
    text = "image_id,probability\ni-1,0.5\ni-1,0.6\ni-9,0.5\n,0.5\ni-2,0.5,0.1\ni-3,0.5\n"
    found = errors_of(binary_task(), text)
    assert found[0][:2] == (3, "image_id") and "row 2" in found[0][2]
    assert found[1][:2] == (4, "image_id") and "i-9" in found[1][2]
    assert found[2][:2] == (5, "image_id") and "empty" in found[2][2]
    assert found[3][:2] == (6, None) and "3 fields" in found[3][2]
    # i-2's row was malformed, so i-2 and i-4 have no row
    assert found[4:] == [
        (None, "image_id", "“i-2” of the test split has no row."),
        (None, "image_id", "“i-4” of the test split has no row."),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        ("image_id,probability\ni-1,0.5\n".encode("utf-16"), "not UTF-8"),
        (b"image_id,probability\ni-1,0.5\xff\n", "not UTF-8"),
        (b"image_id,probability\x00\n", "NUL"),
        (b'image_id,probability\n"i-1,0.5\n', "Not a CSV"),
    ],
)
def test_a_file_that_is_not_utf8_csv_is_refused(data, message):
    assert any(message in text for _row, _column, text in errors_of(binary_task(), data))


def test_the_encoding_error_names_its_line():
    [(row, _column, text)] = errors_of(binary_task(), b"image_id,probability\ni-1,0.5\ni-2,\xe9\n")
    assert row == 3 and "byte 34" in text


def test_errors_are_capped_and_the_rest_counted():
    items = SplitItems(image_ids=[f"i-{n}" for n in range(500)], case_codes=["C"] * 500)
    text = "image_id,probability\n" + "".join(f"i-{n},2\n" for n in range(500))
    found = errors_of(binary_task(), text, items)
    assert len(found) == predictions.MAX_ERRORS + 1
    assert found[-1] == (None, None, "… and 400 more errors.")


@override_settings(SUBMISSION_MAX_CSV_BYTES=64)
def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    [(_row, _column, text)] = errors_of(binary_task(), VALID + "x" * 64)
    assert "larger than" in text


def test_a_segmentation_task_takes_no_csv():
    task = BenchmarkTask(kind=TaskKind.SEGMENTATION, classes=[], label="lesion")
    assert "ZIP" in errors_of(task, VALID)[0][2]


# --- scoring through the command, on a real release ----------------------------------------------


@pytest.fixture
def cin2_task(bench_release, curator):
    return create_task(slug="cin2", version=bench_release, kind="image-classification",
                       label="histology_cin2", actor=curator, steps=["after_acetic_acid"],
                       image_size=32)  # fmt: skip


def write_predictions(task, path, seed=3):
    items = predictions.test_items(task)
    keys = sorted(set(items.case_codes)) if task.case_level else items.image_ids
    rng = np.random.default_rng(seed)
    scores = {key: round(float(rng.random()), 4) for key in keys}
    header = predictions.expected_header(task)
    path.write_text(",".join(header) + "\n" + "".join(f"{k},{v}\n" for k, v in scores.items()))
    return items, scores


def score(task, path) -> dict:
    out = io.StringIO()
    call_command("score_predictions", task.slug, str(path), "--json", "--resamples", "200",
                 stdout=out)  # fmt: skip
    return json.loads(out.getvalue())


def test_scores_equal_scikit_learns_and_repeat_exactly(cin2_task, tmp_path):
    path = tmp_path / "predictions.csv"
    items, scores = write_predictions(cin2_task, path)
    result = score(cin2_task, path)
    assert result["valid"] is True and result["level"] == "image"
    truth = dict(SequesteredLabel.objects.filter(version=cin2_task.version,
                 label="histology_cin2").values_list("image_id", "value"))  # fmt: skip
    ids = [i for i in items.image_ids if cin2_task.class_index(truth.get(i)) is not None]
    y = [cin2_task.class_index(truth[i]) for i in ids]
    assert result["n_test"] == len(ids)
    auc = result["metrics"]["auc"]
    assert auc["value"] == pytest.approx(roc_auc_score(y, [scores[i] for i in ids]))
    assert auc["ci_low"] <= auc["value"] <= auc["ci_high"]
    assert set(result["metrics"]) >= {"sensitivity", "specificity", "ppv", "npv", "f1",
                                      "balanced_accuracy", "accuracy"}  # fmt: skip
    assert {row["level"] for row in result["rows"]} == {"image", "case"}
    assert score(cin2_task, path) == result  # the same file scored twice: the same numbers


def test_a_case_level_task_is_scored_per_case(bench_release, curator, tmp_path):
    task = create_task(slug="severity", version=bench_release, kind="case-classification",
                       label="histology_severity", actor=curator, image_size=32)  # fmt: skip
    path = tmp_path / "cases.csv"
    items, _scores = write_predictions(task, path)
    result = score(task, path)
    assert result["level"] == "case" and [r["level"] for r in result["rows"]] == ["case"]
    assert result["n_cases"] == len(set(items.case_codes))


def test_a_bad_file_exits_1_with_its_errors_in_json(cin2_task, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("image_id,probability\nnot-an-image,0.5\n")
    with pytest.raises(SystemExit) as exited:
        call_command("score_predictions", cin2_task.slug, str(path), "--json")
    assert exited.value.code == 1
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is False
    message = "“not-an-image” is not in the task's test split."
    assert result["errors"][0] == {"row": 2, "column": "image_id", "message": message}
    assert all(e["row"] is None for e in result["errors"][1:])  # the test images with no row
