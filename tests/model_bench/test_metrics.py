"""model_bench.metrics against scikit-learn on the same inputs, and the bootstrap's properties."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from model_bench.metrics import bootstrap, classification, segmentation

FEW = 200  # resamples where only the point values or the mechanics are tested


def _binary(n, seed, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    scores = np.clip(rng.normal(0.4 + 0.2 * y, 0.25), 0, 1)
    if ties:
        scores = scores.round(1)  # many ties, some exactly at the 0.5 threshold
    return y, scores


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_binary_point_values_equal_scikit_learn(seed, ties):
    y, scores = _binary(300, seed, ties)
    result = classification.binary_metrics(y, scores, resamples=FEW)
    metrics = {name: m["value"] for name, m in result["metrics"].items()}
    predicted = (scores > 0.5).astype(int)  # strictly greater wins
    assert metrics["auc"] == pytest.approx(sk.roc_auc_score(y, scores), abs=1e-12)
    assert metrics["sensitivity"] == pytest.approx(sk.recall_score(y, predicted))
    assert metrics["specificity"] == pytest.approx(sk.recall_score(y, predicted, pos_label=0))
    assert metrics["ppv"] == pytest.approx(sk.precision_score(y, predicted))
    assert metrics["npv"] == pytest.approx(sk.precision_score(y, predicted, pos_label=0))
    assert metrics["f1"] == pytest.approx(sk.f1_score(y, predicted))
    assert metrics["accuracy"] == pytest.approx(sk.accuracy_score(y, predicted))
    assert metrics["balanced_accuracy"] == pytest.approx(sk.balanced_accuracy_score(y, predicted))
    assert result["confusion_matrix"] == sk.confusion_matrix(y, predicted).tolist()
    assert result["n"] == 300 and result["n_positive"] == int(y.sum())


def test_threshold_is_strictly_greater():
    result = classification.binary_metrics([0, 1], [0.5, 0.5], resamples=FEW)
    assert result["confusion_matrix"] == [[1, 0], [1, 0]]


@pytest.mark.parametrize("seed", [0, 1])
def test_multiclass_point_values_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 400)
    probabilities = rng.dirichlet([1, 1, 1], 400) + 0.5 * np.eye(3)[y]
    probabilities = (probabilities / probabilities.sum(axis=1, keepdims=True)).round(2)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    result = classification.multiclass_metrics(y, probabilities, resamples=FEW)
    metrics = {name: m["value"] for name, m in result["metrics"].items()}
    predicted = probabilities.argmax(axis=1)
    expected_auc = sk.roc_auc_score(y, probabilities, multi_class="ovr", average="macro")
    assert metrics["auc"] == pytest.approx(expected_auc, abs=1e-12)
    assert metrics["accuracy"] == pytest.approx(sk.accuracy_score(y, predicted))
    assert metrics["balanced_accuracy"] == pytest.approx(sk.balanced_accuracy_score(y, predicted))
    assert metrics["f1"] == pytest.approx(sk.f1_score(y, predicted, average="macro"))
    assert result["confusion_matrix"] == sk.confusion_matrix(y, predicted).tolist()
    for m in result["metrics"].values():
        assert m["ci_low"] <= m["value"] <= m["ci_high"]
    shuffled = np.random.default_rng(1).permutation(y.size)
    assert multiclass_again(y[shuffled], probabilities[shuffled]) == result


def multiclass_again(y, probabilities):
    return classification.multiclass_metrics(y, probabilities, resamples=FEW)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.51, 0.9, 1.0])),
        min_size=2,
        max_size=40,
    ).filter(lambda rows: len({label for label, _ in rows}) == 2)
)
def test_auc_and_roc_points_equal_scikit_learn_with_ties(rows):
    y = np.array([label for label, _ in rows])
    scores = np.array([score for _, score in rows])
    result = classification.binary_metrics(y, scores, resamples=20)
    assert result["metrics"]["auc"]["value"] == pytest.approx(sk.roc_auc_score(y, scores))
    points = classification.roc_curve_points(y, scores)
    fpr, tpr, thresholds = sk.roc_curve(y, scores, drop_intermediate=False)
    assert points["fpr"] == pytest.approx(fpr.tolist())
    assert points["tpr"] == pytest.approx(tpr.tolist())
    assert points["thresholds"][1:] == pytest.approx(thresholds[1:].tolist())


def test_interval_contains_the_value_and_narrows_with_n():
    widths = []
    for n in (200, 5000):
        y, scores = _binary(n, 3)
        metrics = classification.binary_metrics(y, scores)["metrics"]
        for m in metrics.values():
            assert m["ci_low"] <= m["value"] <= m["ci_high"]
        widths.append({name: m["ci_high"] - m["ci_low"] for name, m in metrics.items()})
    for name in widths[0]:
        assert widths[1][name] < widths[0][name] / 2, name


def test_same_seed_same_numbers_other_seed_different_row_order_irrelevant():
    y, scores = _binary(500, 4, ties=True)
    first = classification.binary_metrics(y, scores, seed=7)
    again = classification.binary_metrics(y, scores, seed=7)
    other = classification.binary_metrics(y, scores, seed=8)
    shuffled = np.random.default_rng(0).permutation(y.size)
    reordered = classification.binary_metrics(y[shuffled], scores[shuffled], seed=7)
    assert first == again == reordered
    assert first["metrics"]["auc"]["ci_low"] != other["metrics"]["auc"]["ci_low"]


def test_stratified_resamples_keep_the_class_counts():
    strata = np.array([0] * 30 + [1] * 7 + [2] * 3)
    rng = np.random.default_rng(0)
    indices = bootstrap.stratified_indices(strata, 50, rng)
    for row in indices:
        assert np.bincount(strata[row], minlength=3).tolist() == [30, 7, 3]
    for weights in bootstrap.resample_weights(strata, resamples=120, block=50):
        assert weights.shape[1] == strata.size
        for row in weights:
            assert [row[strata == s].sum() for s in range(3)] == [30, 7, 3]


def test_weights_count_the_same_draws_as_the_indices():
    strata = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1])
    indices = bootstrap.stratified_indices(strata, 10, np.random.default_rng(5))
    (weights,) = bootstrap.resample_weights(strata, resamples=10, seed=5)
    for row, weight in zip(indices, weights, strict=True):
        assert np.bincount(row, minlength=strata.size).tolist() == weight.tolist()


def test_clustered_resamples_draw_whole_groups():
    groups = np.array(["a", "a", "a", "b", "c", "c", "d", "d"])
    strata = np.array([1, 1, 1, 0, 0, 0, 1, 1])
    for weights in bootstrap.resample_weights(strata, groups=groups, resamples=100):
        for row in weights:
            for group in "abcd":
                assert len(set(row[groups == group])) == 1  # a group comes whole
            drawn = {g: row[groups == g][0] for g in "abcd"}
            assert drawn["a"] + drawn["d"] == 2 and drawn["b"] + drawn["c"] == 2


def test_case_level_aggregates_image_scores_by_their_mean():
    cases = ["c1", "c1", "c2", "c2", "c2", "c3", "c4"]
    y = [1, 1, 0, 0, 0, 1, 0]
    scores = [0.9, 0.3, 0.2, 0.7, 0.9, 0.4, 0.1]
    codes, labels, means = classification.case_scores(cases, y, scores)
    assert codes.tolist() == ["c1", "c2", "c3", "c4"]
    assert labels.tolist() == [1, 0, 1, 0]
    assert means == pytest.approx([0.6, 0.6, 0.4, 0.1])
    result = classification.case_metrics(cases, y, scores, resamples=FEW)
    assert result["n_cases"] == 4 and result["n"] == 4
    assert result["confusion_matrix"] == [[1, 1], [1, 1]]
    assert result["metrics"]["auc"]["value"] == pytest.approx(sk.roc_auc_score(labels, means))
    with pytest.raises(ValueError, match="c1"):
        classification.case_scores(["c1", "c1"], [0, 1], [0.2, 0.3])


def test_undefined_metrics_are_none_and_json_has_no_nan():
    result = classification.binary_metrics([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], resamples=FEW)
    assert result["metrics"]["ppv"] == {"value": None, "ci_low": None, "ci_high": None}
    assert result["metrics"]["specificity"]["value"] == 1.0
    one_class = classification.binary_metrics([1, 1, 1], [0.2, 0.7, 0.9], resamples=FEW)
    for name in ("auc", "specificity", "balanced_accuracy"):
        assert one_class["metrics"][name]["value"] is None, name
    assert one_class["metrics"]["sensitivity"]["value"] == pytest.approx(2 / 3)
    assert one_class["metrics"]["npv"]["value"] == 0.0  # one negative prediction, wrong
    assert classification.roc_curve_points([1, 1], [0.2, 0.3]) == {
        "fpr": [],
        "tpr": [],
        "thresholds": [],
    }
    missing = classification.multiclass_metrics([0, 1, 0], np.eye(3)[[0, 1, 2]], resamples=FEW)
    assert missing["metrics"]["auc"]["value"] is None
    json.dumps([result, one_class, missing], allow_nan=False)


def test_interval_skips_resamples_where_the_metric_is_undefined():
    # One positive prediction among 40 rows: most resamples lose it and have no PPV.
    y = np.array([1] * 20 + [0] * 20)
    scores = np.array([0.9] + [0.1] * 39)
    ppv = classification.binary_metrics(y, scores)["metrics"]["ppv"]
    assert ppv == {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0}
    assert bootstrap.percentile_interval([np.nan, np.nan]) == (None, None)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        classification.binary_metrics([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError):
        classification.binary_metrics([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError):
        classification.binary_metrics([0, 1], [0.1])


def test_dice_and_iou_against_hand_computed_masks():
    truth = np.zeros((4, 4), dtype=np.uint8)
    truth[0:2, 0:2] = 1  # 4 pixels
    predicted = np.zeros((4, 4), dtype=np.uint8)
    predicted[0:2, 1:3] = 255  # 4 pixels, 2 shared
    assert segmentation.dice(predicted, truth) == pytest.approx(2 * 2 / 8)
    assert segmentation.iou(predicted, truth) == pytest.approx(2 / 6)
    empty = np.zeros((4, 4))
    assert segmentation.dice(empty, empty) == 1.0 and segmentation.iou(empty, empty) == 1.0
    assert segmentation.dice(predicted, empty) == 0.0
    with pytest.raises(ValueError, match="shape"):
        segmentation.dice(np.zeros((2, 2)), np.zeros((3, 3)))


def test_segmentation_mean_and_interval_by_image_and_by_case():
    rng = np.random.default_rng(0)
    truths = [rng.random((8, 8)) > 0.5 for _ in range(30)]
    predictions = [t ^ (rng.random((8, 8)) > 0.8) for t in truths]
    result = segmentation.segmentation_metrics(predictions, truths)
    dices = [segmentation.dice(p, t) for p, t in zip(predictions, truths, strict=True)]
    dice = result["metrics"]["dice"]
    assert dice["value"] == pytest.approx(np.mean(dices))
    assert dice["ci_low"] <= dice["value"] <= dice["ci_high"]
    cases = np.repeat(np.arange(10), 3)
    by_case = segmentation.segmentation_metrics(predictions, truths, case_ids=cases)
    assert by_case["n_cases"] == 10 and by_case["metrics"]["dice"]["value"] == dice["value"]
    assert by_case["metrics"]["dice"]["ci_low"] != dice["ci_low"]
