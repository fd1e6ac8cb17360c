"""The segmentation-guided pipeline of the Bengbu colposcopy study, with its ablations.

UNet++ finds the region of interest; RepVGG is trained on the original images and on their
region-only images together; at inference each image is classified through six variants (the
original and the region, each also mirrored and brightened) whose class probabilities are summed
with fixed weights; a class wins when its score exceeds 0.5; a case's images vote with equal
weight. The ablation rows of the study's Table 2 come from the same training run:

- "full": segmenter pre-trained on cervix masks and fine-tuned on lesions, six variants;
- "no_pretraining": the same classifier, regions from a segmenter trained on lesions only;
- "no_segmentation": a RepVGG trained on the original images only, voting over the three original
  variants (weights renormalised);
- "no_voting": the full pipeline's classifier on the region image alone.

Saving and loading: `state_dicts()` gives each network's trainable (multi-branch) weights and
`options()` what rebuilds them; `TrainedPipeline.from_state_dicts` builds the networks again,
loads the weights and re-parameterises the RepVGGs for inference, as after training.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from torch import nn

from model_bench.networks import build
from model_bench.networks.repvgg import deploy
from model_bench.training.classifiers import predict_proba, train_classifier
from model_bench.training.data import ImageSet
from model_bench.training.loop import Progress, TrainConfig, no_progress
from model_bench.training.segmentation import (
    THRESHOLD,
    build_segmenter,
    mask_count,
    predict_masks,
    pretrain_and_finetune,
    segmenter_options,
    stage_progress,
    train_segmenter,
)

VARIANTS = (
    "original",
    "region",
    "original_flipped",
    "region_flipped",
    "original_bright",
    "region_bright",
)
DEFAULT_WEIGHTS = (0.2, 0.25, 0.15, 0.2, 0.11, 0.09)
ORIGINAL_VARIANTS = ("original", "original_flipped", "original_bright")

# The study says "brightness-adjusted" without a figure. A gain of ×1.2 (clipped at 255) is a
# modest change of exposure, like a second photograph under a stronger light; a gain rather than
# an offset keeps the blacked-out outside of a region image black.
BRIGHTNESS = 1.2

# The region is dilated by this fraction of the image side (unless dilation_px is given): the
# classifier sees the lesion's border and a rim of the tissue around it, not a hard cut-out.
DILATION_FRACTION = 0.03

KEYS = ("full", "no_pretraining", "no_segmentation", "no_voting")


def default_dilation(size: int) -> int:
    """The dilation, in pixels, of the regions of images `size` pixels wide."""
    return round(size * DILATION_FRACTION)


def check_weights(weights: Sequence[float] | Mapping[str, float]) -> dict[str, float]:
    """The six variant weights as {variant: weight}; a ValueError unless there is one
    non-negative weight per variant and they sum to 1."""
    if isinstance(weights, Mapping):
        if set(weights) != set(VARIANTS):
            raise ValueError(
                f"The voting weights must name exactly the variants {', '.join(VARIANTS)}; "
                f"got {', '.join(sorted(weights))}."
            )
        named = {name: float(weights[name]) for name in VARIANTS}
    else:
        values = [float(value) for value in weights]
        if len(values) != len(VARIANTS):
            raise ValueError(
                f"The voting needs {len(VARIANTS)} weights ({', '.join(VARIANTS)}); "
                f"got {len(values)}."
            )
        named = dict(zip(VARIANTS, values, strict=True))
    if any(not np.isfinite(value) or value < 0 for value in named.values()):
        raise ValueError("Every voting weight must be a non-negative number.")
    total = sum(named.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"The voting weights must sum to 1; they sum to {total:g}.")
    return named


def region_images(
    images: np.ndarray, mask_probs: np.ndarray, *, threshold: float = THRESHOLD, dilation_px: int
) -> np.ndarray:
    """Copies of uint8 images (N, S, S, 3) whose pixels outside the predicted region (probability
    > threshold, dilated by `dilation_px` pixels, Euclidean) are black.

    An image whose predicted region is empty keeps its whole image: a black image carries nothing
    to classify, and the classifier (trained on regions made the same way) then judges the image
    on all of it, as the original variants do, instead of on a blank that would vote for whichever
    class blank images happened to resemble.
    """
    if mask_probs.shape != images.shape[:3]:
        raise ValueError(
            f"{mask_probs.shape} masks for images of shape {images.shape}: one (S, S) mask each."
        )
    if dilation_px < 0:
        raise ValueError("The dilation must be zero or more pixels.")
    regions = images.copy()
    for index, probabilities in enumerate(mask_probs):
        region = probabilities > threshold
        if not region.any():
            continue
        if dilation_px:
            # Distance of each pixel to the region; within dilation_px joins it.
            region = ndimage.distance_transform_edt(~region) <= dilation_px
        regions[index][~region] = 0
    return regions


def brighten(images: np.ndarray, factor: float = BRIGHTNESS) -> np.ndarray:
    return np.clip(images.astype(np.float32) * factor, 0, 255).round().astype(np.uint8)


def _mirror(images: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(images[:, :, ::-1])  # (N, H, W, 3): W is axis 2


def variants_of(images: np.ndarray, kind: str) -> dict[str, np.ndarray]:
    """The three variants of one kind ("original" or "region"): as is, mirrored, brightened."""
    return {kind: images, f"{kind}_flipped": _mirror(images), f"{kind}_bright": brighten(images)}


def variant_images(images: np.ndarray, regions: np.ndarray) -> dict[str, np.ndarray]:
    """The six variants of each image, in VARIANTS order: original and region, each as is,
    mirrored left-right and brightened (BRIGHTNESS)."""
    variants = {**variants_of(images, "original"), **variants_of(regions, "region")}
    return {name: variants[name] for name in VARIANTS}


def vote(
    scores: Mapping[str, np.ndarray],
    weights: Sequence[float] | Mapping[str, float] = DEFAULT_WEIGHTS,
) -> np.ndarray:
    """The weighted sum (N, C) of the variants' class probabilities. The weights (of all six
    variants, summing to 1) are renormalised over the variants given, so that an ablation can vote
    over a subset and still get probabilities."""
    named = check_weights(weights)
    if not scores:
        raise ValueError("No variant scores to vote with.")
    unknown = sorted(set(scores) - set(VARIANTS))
    if unknown:
        raise ValueError(f"Unknown variants {', '.join(unknown)}; choose from {VARIANTS}.")
    total = sum(named[name] for name in scores)
    if total <= 0:
        raise ValueError("The variants given all have weight 0: nothing votes.")
    shapes = {np.shape(values) for values in scores.values()}
    if len(shapes) != 1:
        raise ValueError(f"Every variant needs scores of the same shape; got {sorted(shapes)}.")
    return sum(
        (named[name] / total) * np.asarray(values, dtype=np.float64)
        for name, values in scores.items()
    )


def decide(scores: np.ndarray) -> np.ndarray:
    """Class indices from scores (N, C): "a class wins when its score exceeds 0.5". Binary: the
    positive (last) class iff its score > 0.5. More classes: the class above 0.5 if any (at most
    one when rows sum to 1), otherwise the highest score."""
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError("decide takes scores (N, C) with at least two classes.")
    if scores.shape[1] == 2:
        return (scores[:, 1] > 0.5).astype(np.int64)
    above = scores > 0.5
    winner = np.argmax(np.where(above, scores, -np.inf), axis=1)
    return np.where(above.any(axis=1), winner, np.argmax(scores, axis=1)).astype(np.int64)


def case_scores(
    image_scores: np.ndarray, case_codes: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """(case codes in sorted order, their scores (M, C)): each case's images vote with equal
    weight (the mean), as model_bench.metrics' case level does."""
    image_scores = np.asarray(image_scores)
    if len(case_codes) != len(image_scores):
        raise ValueError("One case code per image score.")
    cases, case_of_row = np.unique(np.asarray(case_codes), return_inverse=True)
    case_of_row = case_of_row.ravel()
    sums = np.zeros((cases.size, *image_scores.shape[1:]))
    np.add.at(sums, case_of_row, image_scores)
    counts = np.bincount(case_of_row, minlength=cases.size)
    return [str(case) for case in cases], sums / counts.reshape(-1, *[1] * (sums.ndim - 1))


@dataclass
class TrainedPipeline:
    """The four trained networks, and inference through them for each ablation row.

    `segmenter_scratch` is `segmenter` itself when there was nothing to pre-train with (only one
    kind of mask): the "no_pretraining" row then equals "full" by construction. `region_masks`
    says which masks the regions were learnt from ("lesion" or "cervix") and `pretrained` whether
    the segmenter was pre-trained on cervix masks.
    """

    segmenter: nn.Module
    segmenter_scratch: nn.Module
    classifier: nn.Module
    classifier_original: nn.Module
    n_classes: int
    weights: dict[str, float]
    segmenter_options: dict = field(default_factory=dict)
    classifier_options: dict = field(default_factory=dict)
    threshold: float = THRESHOLD
    dilation_px: int | None = None
    region_masks: str = "lesion"
    pretrained: bool = True
    history: dict[str, list[dict]] = field(default_factory=dict)
    batch_size: int = 32
    device: str = "cpu"

    def __post_init__(self) -> None:
        self.weights = check_weights(self.weights)
        for network in (self.segmenter, self.segmenter_scratch):
            network.eval()
        # Inference runs on the re-parameterised copies: plain 3×3 convolutions, same outputs.
        self.classifier_deployed = deploy(self.classifier)
        self.classifier_original_deployed = deploy(self.classifier_original)

    @property
    def networks(self) -> dict[str, nn.Module]:
        """The networks inference runs, by name, for ONNX export (RepVGGs re-parameterised)."""
        return {
            "segmenter": self.segmenter,
            "segmenter_scratch": self.segmenter_scratch,
            "classifier": self.classifier_deployed,
            "classifier_original": self.classifier_original_deployed,
        }

    def _dilation(self, images: np.ndarray) -> int:
        if self.dilation_px is not None:
            return self.dilation_px
        return default_dilation(images.shape[1])

    def regions(self, images: np.ndarray, *, scratch: bool = False) -> np.ndarray:
        """The region images of uint8 images (N, S, S, 3), from the (scratch) segmenter."""
        network = self.segmenter_scratch if scratch else self.segmenter
        probabilities = predict_masks(
            network, images, batch_size=self.batch_size, device=self.device
        )
        return region_images(
            images, probabilities, threshold=self.threshold, dilation_px=self._dilation(images)
        )

    def _scores(self, network: nn.Module, variants: Mapping[str, np.ndarray]) -> dict:
        return {
            name: predict_proba(network, images, batch_size=self.batch_size, device=self.device)
            for name, images in variants.items()
        }

    def predict(self, images: np.ndarray, *, deployed: bool = True) -> dict[str, np.ndarray]:
        """Class probabilities (N, C) of uint8 images (N, S, S, 3) for each row of KEYS.
        `deployed=False` runs the multi-branch RepVGGs instead (the same figures, slower)."""
        classifier = self.classifier_deployed if deployed else self.classifier
        original_only = self.classifier_original_deployed if deployed else self.classifier_original
        full_variants = variant_images(images, self.regions(images))
        full = self._scores(classifier, full_variants)
        if self.segmenter_scratch is self.segmenter:
            scratch = full
        else:
            # The original variants do not depend on the segmenter: their scores are reused.
            scratch_regions = variants_of(self.regions(images, scratch=True), "region")
            scratch = {**full, **self._scores(classifier, scratch_regions)}
        originals = self._scores(
            original_only, {name: full_variants[name] for name in ORIGINAL_VARIANTS}
        )
        return {
            "full": vote(full, self.weights),
            "no_pretraining": vote(scratch, self.weights),
            "no_segmentation": vote(originals, self.weights),
            "no_voting": full["region"].astype(np.float64),
        }

    def state_dicts(self) -> dict[str, dict]:
        """Each network's trainable weights (RepVGG multi-branch), to save with `options()`."""
        return {
            "segmenter": self.segmenter.state_dict(),
            "segmenter_scratch": self.segmenter_scratch.state_dict(),
            "classifier": self.classifier.state_dict(),
            "classifier_original": self.classifier_original.state_dict(),
        }

    def options(self) -> dict:
        """What `from_state_dicts` needs besides the weights (JSON-serialisable)."""
        return {
            "n_classes": self.n_classes,
            "weights": [self.weights[name] for name in VARIANTS],
            "segmenter": self.segmenter_options,
            "classifier": self.classifier_options,
            "threshold": self.threshold,
            "dilation_px": self.dilation_px,
            "region_masks": self.region_masks,
            "pretrained": self.pretrained,
            "shared_segmenter": self.segmenter_scratch is self.segmenter,
        }

    @classmethod
    def from_state_dicts(
        cls, state_dicts: Mapping[str, dict], options: Mapping, *, device: str = "cpu"
    ) -> "TrainedPipeline":
        segmenter = build_segmenter(options["segmenter"])
        segmenter.load_state_dict(state_dicts["segmenter"])
        if options.get("shared_segmenter"):
            scratch = segmenter
        else:
            scratch = build_segmenter(options["segmenter"])
            scratch.load_state_dict(state_dicts["segmenter_scratch"])
        classifiers = []
        for name in ("classifier", "classifier_original"):
            network = build("repvgg", num_classes=options["n_classes"], **options["classifier"])
            network.load_state_dict(state_dicts[name])
            classifiers.append(network.to(device))
        return cls(
            segmenter=segmenter.to(device),
            segmenter_scratch=scratch.to(device),
            classifier=classifiers[0],
            classifier_original=classifiers[1],
            n_classes=options["n_classes"],
            weights=options["weights"],
            segmenter_options=dict(options["segmenter"]),
            classifier_options=dict(options["classifier"]),
            threshold=options["threshold"],
            dilation_px=options["dilation_px"],
            region_masks=options["region_masks"],
            pretrained=options["pretrained"],
            device=device,
        )


def with_regions(images: ImageSet, regions: np.ndarray) -> ImageSet:
    """`images` followed by their region images, with the same labels and cases (the classifier
    learns both, as in the study)."""
    return ImageSet(
        images=np.concatenate([images.images, regions]),
        image_ids=[*images.image_ids, *(f"{image_id}#region" for image_id in images.image_ids)],
        case_codes=[*images.case_codes, *images.case_codes],
        labels=None if images.labels is None else np.concatenate([images.labels, images.labels]),
    )


def train_pipeline(
    train: ImageSet,
    validation: ImageSet | None,
    *,
    cervix_train: ImageSet | None,
    cervix_val: ImageSet | None,
    lesion_train: ImageSet | None,
    lesion_val: ImageSet | None,
    n_classes: int,
    config: TrainConfig,
    options: dict | None = None,
    weights: Sequence[float] | Mapping[str, float] = DEFAULT_WEIGHTS,
    progress: Progress = no_progress,
) -> TrainedPipeline:
    """Train the pipeline's four networks on a classification task's images and the bank's masks.

    `options`: {"segmenter": UNet++ options, "classifier": RepVGG options, "threshold": 0.5,
    "dilation_px": int (default DILATION_FRACTION of the side)}. The region is the lesion when
    there are lesion masks; with none at all it falls back to the cervix (the region then only
    crops the speculum, walls and background, still what the study's segmentation removes), and
    with neither kind of mask a ValueError is raised. With a single kind of mask there is nothing
    to pre-train with, so one segmenter serves both the full and the "no pre-training" rows.
    """
    weights = check_weights(weights)
    options = dict(options or {})
    seg_options = segmenter_options(options.get("segmenter"))
    clf_options = dict(options.get("classifier") or {})
    threshold = float(options.get("threshold", THRESHOLD))
    dilation_px = options.get("dilation_px")
    n_cervix, n_lesion = mask_count(cervix_train), mask_count(lesion_train)
    if n_cervix == 0 and n_lesion == 0:
        raise ValueError(
            "The segmentation-guided pipeline needs cervix or lesion masks to find the region of "
            "interest, and no training image has either. Import masks (import_masks) first."
        )
    # Shares of the progress bar: (a) two segmenter trainings, (b) one, (c) twice the images, (d).
    stages = {"a": (0.0, 0.35), "b": (0.35, 0.2), "c": (0.55, 0.3), "d": (0.85, 0.15)}
    history: dict[str, list[dict]] = {}
    if n_cervix and n_lesion:
        finetuned = pretrain_and_finetune(
            cervix_train,
            cervix_val,
            lesion_train,
            lesion_val,
            config=config,
            options=seg_options,
            progress=stage_progress(progress, *stages["a"], "segmenter"),
        )
        segmenter, region_masks, pretrained = finetuned.network, "lesion", True
        history["segmenter_pretrain"] = finetuned.pretrain_history
        history["segmenter"] = finetuned.finetune_history
        scratch = train_segmenter(
            lesion_train,
            lesion_val,
            config=config,
            options=seg_options,
            progress=stage_progress(progress, *stages["b"], "segmenter without pre-training"),
        )
        segmenter_scratch = scratch.network
        history["segmenter_scratch"] = scratch.history
    else:
        region_masks = "lesion" if n_lesion else "cervix"
        masks_train, masks_val = (
            (lesion_train, lesion_val) if n_lesion else (cervix_train, cervix_val)
        )
        start, share = stages["a"][0], stages["a"][1] + stages["b"][1]
        trained = train_segmenter(
            masks_train,
            masks_val,
            config=config,
            options=seg_options,
            progress=stage_progress(progress, start, share, f"segmenter on {region_masks} masks"),
        )
        segmenter = segmenter_scratch = trained.network
        pretrained = False
        history["segmenter"] = trained.history

    def regions_of(images: ImageSet) -> np.ndarray:
        probabilities = predict_masks(
            segmenter, images.images, batch_size=config.batch_size, device=config.device
        )
        dilation = dilation_px if dilation_px is not None else default_dilation(images.size)
        return region_images(
            images.images, probabilities, threshold=threshold, dilation_px=dilation
        )

    both_train = with_regions(train, regions_of(train))
    both_val = (
        with_regions(validation, regions_of(validation))
        if validation is not None and len(validation)
        else None
    )
    classifier = train_classifier(
        "repvgg",
        both_train,
        both_val,
        n_classes=n_classes,
        config=config,
        progress=stage_progress(progress, *stages["c"], "classifier on original and region images"),
        options=clf_options,
    )
    classifier_original = train_classifier(
        "repvgg",
        train,
        validation,
        n_classes=n_classes,
        config=config,
        progress=stage_progress(progress, *stages["d"], "classifier on original images"),
        options=clf_options,
    )
    history["classifier"] = classifier.history
    history["classifier_original"] = classifier_original.history
    return TrainedPipeline(
        segmenter=segmenter,
        segmenter_scratch=segmenter_scratch,
        classifier=classifier.network,
        classifier_original=classifier_original.network,
        n_classes=n_classes,
        weights=weights,
        segmenter_options=seg_options,
        classifier_options=clf_options,
        threshold=threshold,
        dilation_px=dilation_px,
        region_masks=region_masks,
        pretrained=pretrained,
        history=history,
        batch_size=config.batch_size,
        device=config.device,
    )
