"""UNet++ segmenters (model_bench.training.segmentation) and the segmentation-guided pipeline
(model_bench.training.pipeline): seeded training, learning a mask, fine-tuning from pre-trained
weights, the region images, the six-variant weighted vote, the 0.5 rule, case votes, and the
pipeline's four ablation rows.

Everything is tiny (32×32 synthetic images with a bright disc as the mask, UNet++ of depth 2 and
width 4, a RepVGG an eighth wide, one or a few epochs) so that the file runs in seconds on a CPU.
"""

import numpy as np
import pytest
import torch

from model_bench.metrics.segmentation import dice
from model_bench.training import segmentation
from model_bench.training.classifiers import predict_proba
from model_bench.training.data import ImageSet
from model_bench.training.loop import TrainConfig
from model_bench.training.pipeline import (
    BRIGHTNESS,
    DEFAULT_WEIGHTS,
    KEYS,
    ORIGINAL_VARIANTS,
    VARIANTS,
    TrainedPipeline,
    case_scores,
    check_weights,
    decide,
    region_images,
    train_pipeline,
    variant_images,
    vote,
)
from model_bench.training.segmentation import (
    predict_masks,
    pretrain_and_finetune,
    train_segmenter,
)

SIZE = 32
UNETPP = {"depth": 2, "base_width": 4}
REPVGG = {"blocks": (1, 1, 1, 1, 1), "width_multiplier": 1 / 8}


@pytest.fixture(autouse=True)
def _restore_torch_state():
    # The trainers seed torch's global generator; give the rest of the suite its state back.
    threads = torch.get_num_threads()
    rng = torch.get_rng_state()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    torch.set_rng_state(rng)


def discs(n: int, *, seed: int = 0, labels: bool = False) -> ImageSet:
    """Dark noisy images with one bright disc each, the disc as the mask; with `labels`, class 1
    for a large disc and 0 for a small one."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    images = rng.integers(0, 80, (n, SIZE, SIZE, 3)).astype(np.uint8)
    masks = np.zeros((n, SIZE, SIZE), np.uint8)
    radii = rng.integers(5, 9, n)
    for i in range(n):
        cy, cx = rng.integers(10, SIZE - 10, 2)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= radii[i] ** 2
        masks[i] = disc
        images[i][disc] = rng.integers(170, 256, (int(disc.sum()), 3))
    return ImageSet(
        images=images,
        image_ids=[f"img{seed}-{i}" for i in range(n)],
        case_codes=[f"case{seed}-{i // 2}" for i in range(n)],
        labels=(radii >= 7).astype(np.int64) if labels else None,
        masks=masks,
        has_mask=np.ones(n, dtype=bool),
    )


def config(epochs: int = 1, **overrides) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=8, lr=1e-2, **{"seed": 0, **overrides})


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def without_seconds(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


# --- segmenter -------------------------------------------------------------------------------


def test_segmenter_training_is_deterministic():
    train, validation = discs(16), discs(4, seed=1)
    first = train_segmenter(train, validation, config=config(), options=UNETPP)
    second = train_segmenter(train, validation, config=config(), options=UNETPP)
    assert same_weights(first.network.state_dict(), second.network.state_dict())
    assert without_seconds(first.history) == without_seconds(second.history)
    assert {"val_loss", "val_dice", "train_loss"} <= first.history[0].keys()
    third = train_segmenter(train, validation, config=config(seed=1), options=UNETPP)
    assert not same_weights(first.network.state_dict(), third.network.state_dict())


def test_segmenter_learns_a_disc_better_than_chance():
    train, validation = discs(24), discs(8, seed=1)
    trained = train_segmenter(train, validation, config=config(epochs=4), options=UNETPP)
    probabilities = predict_masks(trained.network, validation.images, batch_size=4)
    assert probabilities.dtype == np.float32 and probabilities.shape == (8, SIZE, SIZE)
    assert probabilities.min() >= 0 and probabilities.max() <= 1
    found = np.mean(
        [dice(p > 0.5, t) for p, t in zip(probabilities, validation.masks, strict=True)]
    )
    # Chance: calling every pixel foreground.
    chance = np.mean([dice(np.ones_like(t), t) for t in validation.masks])
    assert chance < 0.4 < 0.7 < found
    assert trained.history[-1]["val_dice"] > 0.7


def test_images_without_a_mask_are_left_out():
    train = discs(16)
    train.has_mask[::2] = False
    train.masks[::2] = 1  # garbage that must not be learnt
    mixed = train_segmenter(train, None, config=config(), options=UNETPP)
    only_masked = train_segmenter(
        train.subset(np.arange(1, 16, 2)), None, config=config(), options=UNETPP
    )
    assert same_weights(mixed.network.state_dict(), only_masked.network.state_dict())

    train.has_mask[:] = False
    with pytest.raises(ValueError, match="No training image has a mask"):
        train_segmenter(train, None, config=config(), options=UNETPP)


def test_deep_supervision_trains_and_predicts_one_mask():
    trained = train_segmenter(discs(8), discs(4, seed=1), config=config(), options=UNETPP)
    assert trained.options["deep_supervision"] is True
    assert len(trained.network.heads) == UNETPP["depth"]
    assert predict_masks(trained.network, discs(3).images).shape == (3, SIZE, SIZE)
    plain = train_segmenter(
        discs(8), None, config=config(), options={**UNETPP, "deep_supervision": False}
    )
    assert len(plain.network.heads) == 1


def test_init_weights_are_applied():
    start = train_segmenter(discs(8), None, config=config(), options=UNETPP).network.state_dict()
    # No epoch: the network is exactly the one it was initialised from.
    untouched = train_segmenter(
        discs(8, seed=2), None, config=config(epochs=0), options=UNETPP, init=start
    )
    assert same_weights(untouched.network.state_dict(), start)


def test_fine_tuning_starts_from_the_pretrained_weights(monkeypatch):
    calls = []
    real = segmentation.train_segmenter

    def spy(train, validation, **kwargs):
        trained = real(train, validation, **kwargs)
        init = kwargs.get("init")
        calls.append(
            (train, None if init is None else {k: v.clone() for k, v in init.items()}, trained)
        )
        return trained

    monkeypatch.setattr(segmentation, "train_segmenter", spy)
    cervix, lesion = discs(8), discs(8, seed=3)
    seen = []
    result = pretrain_and_finetune(
        cervix,
        None,
        lesion,
        None,
        config=config(),
        options=UNETPP,
        progress=lambda fraction, message: seen.append((fraction, message)),
    )
    (pre_train, pre_init, pretrained), (fine_train, fine_init, finetuned) = calls
    assert pre_train is cervix and pre_init is None
    assert fine_train is lesion
    assert same_weights(fine_init, pretrained.network.state_dict())
    assert result.network is finetuned.network
    assert result.pretrain_history == pretrained.history
    assert result.finetune_history == finetuned.history
    fractions = [fraction for fraction, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert seen[0][1].startswith("pre-training") and seen[-1][1].startswith("fine-tuning")

    with pytest.raises(ValueError, match="cervix masks"):
        pretrain_and_finetune(None, None, lesion, None, config=config(), options=UNETPP)


# --- regions, variants, voting --------------------------------------------------------------


def test_region_images_blank_the_outside_and_keep_empty_regions_whole():
    images = np.full((2, 8, 8, 3), 200, dtype=np.uint8)
    probabilities = np.zeros((2, 8, 8), dtype=np.float32)
    probabilities[0, 3:5, 3:5] = 0.9
    probabilities[0, 0, 0] = 0.5  # not above the threshold
    regions = region_images(images, probabilities, dilation_px=0)
    inside = probabilities[0] > 0.5
    assert (regions[0][inside] == 200).all() and (regions[0][~inside] == 0).all()
    assert (regions[1] == images[1]).all()  # nothing found: the whole image
    assert (images == 200).all()  # the input is not changed

    dilated = region_images(images, probabilities, dilation_px=1)
    kept = (dilated[0] != 0).all(axis=-1)
    assert kept.sum() == 4 + 4 * 2  # the 2×2 square and the 8 pixels 1 away
    assert kept[2, 3] and kept[5, 4] and not kept[2, 2]
    with pytest.raises(ValueError, match="one \\(S, S\\) mask each"):
        region_images(images, probabilities[:1], dilation_px=0)


def test_variant_images():
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3)).astype(np.uint8)
    regions = images.copy()
    regions[:, :4] = 0
    variants = variant_images(images, regions)
    assert tuple(variants) == VARIANTS
    assert (variants["original_flipped"] == images[:, :, ::-1]).all()
    assert (variants["region_flipped"] == regions[:, :, ::-1]).all()
    bright = np.clip(np.round(images * BRIGHTNESS), 0, 255)
    assert np.abs(variants["original_bright"].astype(int) - bright).max() <= 1
    assert (variants["region_bright"][:, :4] == 0).all()  # black stays black
    assert all(v.dtype == np.uint8 and v.shape == images.shape for v in variants.values())


def test_vote_with_the_six_default_weights():
    assert sum(DEFAULT_WEIGHTS) == pytest.approx(1.0)
    scores = {name: np.eye(2)[[i % 2]] for i, name in enumerate(VARIANTS)}
    # Variants 0, 2, 4 say class 0; 1, 3, 5 say class 1.
    expected = [0.2 + 0.15 + 0.11, 0.25 + 0.2 + 0.09]
    assert vote(scores) == pytest.approx(np.array([expected]))
    weights = {**dict(zip(VARIANTS, DEFAULT_WEIGHTS, strict=True))}
    assert vote(scores, weights) == pytest.approx(np.array([expected]))


def test_vote_renormalises_over_a_subset():
    scores = {
        "original": np.array([[1.0, 0.0]]),
        "original_flipped": np.array([[0.0, 1.0]]),
        "original_bright": np.array([[0.0, 1.0]]),
    }
    total = 0.2 + 0.15 + 0.11
    result = vote(scores)
    assert result == pytest.approx(np.array([[0.2 / total, 0.26 / total]]))
    assert result.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ((0.2, 0.2, 0.2, 0.2, 0.1, 0.2), "sum to 1"),
        ((0.5, 0.5), "needs 6 weights"),
        ((1.2, -0.2, 0, 0, 0, 0), "non-negative"),
        ((float("nan"), 0, 0, 0, 0, 1), "non-negative"),
        ({"original": 1.0}, "exactly the variants"),
    ],
)
def test_bad_weights_are_refused(weights, message):
    with pytest.raises(ValueError, match=message):
        check_weights(weights)
    with pytest.raises(ValueError, match=message):
        vote({"original": np.ones((1, 2)) / 2}, weights)


def test_vote_refuses_unknown_or_weightless_variants():
    with pytest.raises(ValueError, match="Unknown variants"):
        vote({"rotated": np.ones((1, 2)) / 2})
    with pytest.raises(ValueError, match="weight 0"):
        vote({"region": np.ones((1, 2)) / 2}, (1, 0, 0, 0, 0, 0))


def test_decide_binary_needs_more_than_half():
    scores = np.array([[0.4, 0.6], [0.5, 0.5], [0.51, 0.49], [0.0, 1.0]])
    assert decide(scores).tolist() == [1, 0, 0, 1]


def test_decide_three_classes():
    scores = np.array([[0.1, 0.6, 0.3], [0.4, 0.35, 0.25], [0.2, 0.3, 0.5], [0.05, 0.05, 0.9]])
    # Above 0.5 wins; otherwise (rows 2 and 3: nobody above 0.5) the highest score.
    assert decide(scores).tolist() == [1, 0, 2, 2]


def test_case_scores_give_each_image_an_equal_vote():
    scores = np.array([[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4], [1.0, 0.0]])
    cases, means = case_scores(scores, ["b", "a", "a", "a", "b"])
    assert cases == ["a", "b"]
    assert means == pytest.approx(np.array([[1.1 / 3, 1.9 / 3], [0.95, 0.05]]))
    with pytest.raises(ValueError, match="One case code per image"):
        case_scores(scores, ["a"])


# --- the pipeline -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained() -> tuple[TrainedPipeline, list]:
    torch.set_num_threads(1)
    rng = torch.get_rng_state()
    seen: list = []
    pipeline = train_pipeline(
        discs(24, labels=True),
        discs(8, seed=1, labels=True),
        cervix_train=discs(12, seed=2),
        cervix_val=discs(4, seed=3),
        lesion_train=discs(12, seed=4),
        lesion_val=discs(4, seed=5),
        n_classes=2,
        config=config(epochs=2),
        options={"segmenter": UNETPP, "classifier": REPVGG, "dilation_px": 1},
        progress=lambda fraction, message: seen.append((fraction, message)),
    )
    torch.set_rng_state(rng)
    return pipeline, seen


def test_pipeline_predicts_the_four_rows(trained):
    pipeline, seen = trained
    images = discs(6, seed=9).images
    scores = pipeline.predict(images)
    assert tuple(scores) == KEYS
    for key, values in scores.items():
        assert values.shape == (6, 2), key
        assert values.sum(axis=1) == pytest.approx(np.ones(6)), key
        assert decide(values).shape == (6,)
    assert pipeline.pretrained and pipeline.region_masks == "lesion"
    assert pipeline.segmenter_scratch is not pipeline.segmenter
    assert set(pipeline.history) == {
        "segmenter_pretrain",
        "segmenter",
        "segmenter_scratch",
        "classifier",
        "classifier_original",
    }
    assert set(pipeline.networks) == {
        "segmenter",
        "segmenter_scratch",
        "classifier",
        "classifier_original",
    }
    fractions = [fraction for fraction, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_pipeline_rows_are_what_they_say(trained):
    pipeline, _ = trained
    images = discs(5, seed=8).images
    scores = pipeline.predict(images)
    regions = pipeline.regions(images)
    variants = variant_images(images, regions)
    clf, original_only = pipeline.networks["classifier"], pipeline.networks["classifier_original"]
    full = {name: predict_proba(clf, variants[name]) for name in VARIANTS}
    assert scores["full"] == pytest.approx(vote(full), abs=1e-6)
    assert scores["no_voting"] == pytest.approx(full["region"], abs=1e-6)
    originals = {name: predict_proba(original_only, variants[name]) for name in ORIGINAL_VARIANTS}
    assert scores["no_segmentation"] == pytest.approx(vote(originals), abs=1e-6)
    scratch_variants = variant_images(images, pipeline.regions(images, scratch=True))
    scratch = {name: predict_proba(clf, scratch_variants[name]) for name in VARIANTS}
    assert scores["no_pretraining"] == pytest.approx(vote(scratch), abs=1e-6)


def test_pipeline_deployed_repvgg_equals_the_multi_branch_form(trained):
    pipeline, _ = trained
    assert pipeline.networks["classifier"].is_deployed
    assert not pipeline.classifier.is_deployed
    images = discs(6, seed=7).images
    deployed = pipeline.predict(images)
    multi_branch = pipeline.predict(images, deployed=False)
    for key in KEYS:
        np.testing.assert_allclose(deployed[key], multi_branch[key], atol=1e-5)


def test_pipeline_round_trips_through_state_dicts(trained):
    pipeline, _ = trained
    loaded = TrainedPipeline.from_state_dicts(pipeline.state_dicts(), pipeline.options())
    images = discs(4, seed=6).images
    before, after = pipeline.predict(images), loaded.predict(images)
    for key in KEYS:
        np.testing.assert_allclose(before[key], after[key], atol=1e-6)


def test_pipeline_falls_back_to_cervix_masks_and_needs_some_masks():
    train = discs(8, labels=True)
    no_lesions = discs(4, seed=4)
    no_lesions.has_mask[:] = False
    common = {
        "n_classes": 2,
        "config": config(),
        "options": {"segmenter": UNETPP, "classifier": REPVGG},
        "lesion_val": None,
        "cervix_val": None,
    }
    pipeline = train_pipeline(
        train, None, cervix_train=discs(8, seed=2), lesion_train=no_lesions, **common
    )
    assert pipeline.region_masks == "cervix" and not pipeline.pretrained
    assert pipeline.segmenter_scratch is pipeline.segmenter
    scores = pipeline.predict(train.images[:3])
    np.testing.assert_array_equal(scores["full"], scores["no_pretraining"])

    with pytest.raises(ValueError, match="needs cervix or lesion masks"):
        train_pipeline(train, None, cervix_train=None, lesion_train=no_lesions, **common)
