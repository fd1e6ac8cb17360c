"""The reference models a benchmark job can run, by name: what each trains, on which kinds of
task, and which rows of the results table it gives (the pipeline gives its ablations too).

Pure code (no Django): a trainer takes the task's data (train, validation and test ImageSets,
the classes and, for the pipeline and segmentation, the masks by kind), the job's configuration
and a progress callback, and returns a ModelRun: the test predictions per row, the networks to
export to ONNX, the training curves and the weights. Adding a model is adding an entry here
(docs/benchmarks.md, "Adding a model").
"""

import io
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

# torch is imported by the trainers only: the registry (names, kinds, rows, defaults) is read by
# the web processes too (model_bench.services.jobs), whose image has no torch (Dockerfile WITH_ML).
if TYPE_CHECKING:
    from torch import nn

    from model_bench.training.loop import Progress, TrainConfig

CLASSIFICATION = "classification"
SEGMENTATION = "segmentation"


@dataclass
class ModelRun:
    predictions: dict[str, np.ndarray]  # row name → (N, C) probabilities or (N, S, S) masks
    networks: dict[str, "nn.Module"] = field(default_factory=dict)  # exported to ONNX
    history: dict[str, list[dict]] = field(default_factory=dict)
    weights: bytes = b""
    weights_name: str = "weights.pt"
    parameters: int = 0


@dataclass(frozen=True)
class ReferenceModel:
    name: str
    title: str
    kinds: tuple[str, ...]
    rows: tuple[str, ...]  # the names of the table rows it gives, the first its own
    train: Callable[..., ModelRun]
    compared_with: str = ""  # the published figure it is compared with (docs/benchmarks.md)
    defaults: dict = field(default_factory=dict)


def parameter_count(module) -> int:
    from model_bench.networks import parameter_count as count

    return count(module)


def train_config(config: dict, seed: int, device: str) -> "TrainConfig":
    from model_bench.training.loop import TrainConfig

    return TrainConfig(
        epochs=int(config.get("epochs", 5)),
        batch_size=int(config.get("batch_size", 16)),
        lr=float(config.get("lr", 1e-3)),
        weight_decay=float(config.get("weight_decay", 1e-4)),
        patience=int(config.get("patience", 0)),
        device=device,
        seed=seed,
    )


def _torch_bytes(value) -> bytes:
    buffer = io.BytesIO()
    import torch

    torch.save(value, buffer)
    return buffer.getvalue()


def _state_bytes(states: dict[str, "nn.Module"]) -> bytes:
    return _torch_bytes({name: module.state_dict() for name, module in states.items()})


def _cnn(network: str):
    def train(data, config: dict, *, seed: int, device: str, progress: "Progress") -> ModelRun:
        from model_bench.training.classifiers import predict_proba, train_classifier

        trained = train_classifier(
            network,
            data.train,
            data.validation,
            n_classes=len(data.classes),
            config=train_config(config, seed, device),
            progress=progress,
            options=config.get("options", {}),
        )
        model = trained.network
        if network == "repvgg":
            from model_bench.networks.repvgg import deploy

            model = deploy(model)
        probabilities = predict_proba(model, data.test.images, device=device)
        return ModelRun(
            predictions={network: probabilities},
            networks={network: model},
            history={network: trained.history},
            weights=_state_bytes({network: model}),
            parameters=parameter_count(model),
        )

    return train


def _baseline(data, config: dict, *, seed: int, device: str, progress: "Progress") -> ModelRun:
    from model_bench.training.baseline import train_baseline

    model = train_baseline(
        data.train, data.validation, n_classes=len(data.classes), seed=seed, progress=progress
    )
    return ModelRun(
        predictions={"baseline": model.predict_proba(data.test.images)},
        history={"baseline": list(getattr(model, "history", []))},
        weights=pickle.dumps(model),
        weights_name="weights.pkl",
    )


def _hybrid(data, config: dict, *, seed: int, device: str, progress: "Progress") -> ModelRun:
    from model_bench.training.hybrid import train_hybrid

    backbone = config.get("backbone", "resnet")
    model = train_hybrid(
        data.train,
        data.validation,
        n_classes=len(data.classes),
        config=train_config(config, seed, device),
        backbone=backbone,
        options=config.get("options", {}),
        progress=progress,
    )
    history = model.history if isinstance(model.history, dict) else {"cnn-lgbm": model.history}
    return ModelRun(
        predictions={"cnn-lgbm": model.predict_proba(data.test.images)},
        networks={backbone: model.cnn.network},
        history=history,
        weights=pickle.dumps(model),
        weights_name="weights.pkl",
        parameters=parameter_count(model.cnn.network),
    )


def _pipeline(data, config: dict, *, seed: int, device: str, progress: "Progress") -> ModelRun:
    from model_bench.training import pipeline

    cervix_train, cervix_val = data.masks.get("cervix", (None, None))
    lesion_train, lesion_val = data.masks.get("lesion", (None, None))
    weights = tuple(config.get("weights", pipeline.DEFAULT_WEIGHTS))
    trained = pipeline.train_pipeline(
        data.train,
        data.validation,
        cervix_train=cervix_train,
        cervix_val=cervix_val,
        lesion_train=lesion_train,
        lesion_val=lesion_val,
        n_classes=len(data.classes),
        config=train_config(config, seed, device),
        options=config.get("options", {}),
        weights=weights,
        progress=progress,
    )
    predicted = trained.predict(data.test.images)
    names = dict(
        zip(("full", "no_pretraining", "no_segmentation", "no_voting"), PIPELINE_ROWS, strict=True)
    )
    return ModelRun(
        predictions={names[key]: value for key, value in predicted.items() if key in names},
        networks=dict(trained.networks),
        history=dict(trained.history),
        # The trainable (multi-branch) weights and what rebuilds them, which
        # TrainedPipeline.from_state_dicts loads back (the ONNX exports hold the deployed RepVGGs).
        weights=_torch_bytes({"state_dicts": trained.state_dicts(), "options": trained.options()}),
        parameters=sum(parameter_count(n) for n in trained.networks.values()),
    )


def _unetpp(data, config: dict, *, seed: int, device: str, progress: "Progress") -> ModelRun:
    from model_bench.training import segmentation

    label = data.task.label
    train, validation = data.train, data.validation
    run_config = train_config(config, seed, device)
    options = config.get("options", {})
    predictions, networks, history = {}, {}, {}

    def half(offset: float):
        return lambda fraction, message: progress(offset + fraction / 2, message)

    if label != "cervix" and "cervix" in data.masks and len(data.masks["cervix"][0]):
        cervix_train, cervix_val = data.masks["cervix"]
        tuned = segmentation.pretrain_and_finetune(
            cervix_train, cervix_val, train, validation,
            config=run_config, options=options, progress=half(0.0),
        )  # fmt: skip
        networks["unetpp"] = tuned.network
        history["unetpp (cervix pre-training)"] = tuned.pretrain_history
        history["unetpp"] = tuned.finetune_history
        predictions["unetpp"] = segmentation.predict_masks(
            tuned.network, data.test.images, batch_size=run_config.batch_size, device=device
        )
        scratch_progress = half(0.5)
        scratch_name = "unetpp/no-pretraining"
    else:
        scratch_progress = progress
        scratch_name = "unetpp"
    scratch = segmentation.train_segmenter(
        train, validation, config=run_config, options=options, progress=scratch_progress
    )
    networks[scratch_name] = scratch.network
    history[scratch_name] = scratch.history
    predictions[scratch_name] = segmentation.predict_masks(
        scratch.network, data.test.images, batch_size=run_config.batch_size, device=device
    )
    return ModelRun(
        predictions=predictions,
        networks=networks,
        history=history,
        weights=_state_bytes(networks),
        parameters=parameter_count(next(iter(networks.values()))),
    )


def _pixel_baseline(data, config: dict, *, seed: int, device: str, progress: "Progress"):
    from model_bench.training.pixel_baseline import train_pixel_baseline

    model = train_pixel_baseline(data.train, seed=seed)
    return ModelRun(
        predictions={"baseline": model.predict_masks(data.test.images)},
        weights=pickle.dumps(model),
        weights_name="weights.pkl",
    )


PIPELINE_ROWS = (
    "unetpp-repvgg-vote",
    "unetpp-repvgg-vote/no-pretraining",
    "unetpp-repvgg-vote/no-segmentation",
    "unetpp-repvgg-vote/no-voting",
)

MODELS: dict[str, ReferenceModel] = {
    model.name: model
    for model in (
        ReferenceModel(
            "baseline",
            "Colour and texture features, logistic regression",
            (CLASSIFICATION,),
            ("baseline",),
            _baseline,
        ),
        ReferenceModel(
            "repvgg",
            "RepVGG (A0-like), re-parameterised for inference",
            (CLASSIFICATION,),
            ("repvgg",),
            _cnn("repvgg"),
            defaults={"options": {"width_multiplier": 0.5}},
        ),
        ReferenceModel(
            "unetpp-repvgg-vote",
            "UNet++ region of interest, RepVGG on original and region, six-variant vote",
            (CLASSIFICATION,),
            PIPELINE_ROWS,
            _pipeline,
            compared_with="Bengbu colposcopy study: accuracy 83.01%",
            defaults={
                "options": {
                    "segmenter": {"base_width": 16},
                    "classifier": {"width_multiplier": 0.5},
                }
            },
        ),
        ReferenceModel(
            "cnn-lgbm",
            "CNN features with gradient-boosted trees (LightGBM)",
            (CLASSIFICATION,),
            ("cnn-lgbm",),
            _hybrid,
            compared_with="CelInsight hybrids",
            defaults={"backbone": "resnet", "options": {"width_multiplier": 0.5}},
        ),
        ReferenceModel(
            "vgg",
            "VGG-style classifier",
            (CLASSIFICATION,),
            ("vgg",),
            _cnn("vgg"),
            defaults={"options": {"width_multiplier": 0.25}},
        ),
        ReferenceModel(
            "resnet",
            "ResNet-style classifier",
            (CLASSIFICATION,),
            ("resnet",),
            _cnn("resnet"),
            defaults={"options": {"width_multiplier": 0.5}},
        ),
        ReferenceModel(
            "densenet",
            "DenseNet-style classifier",
            (CLASSIFICATION,),
            ("densenet",),
            _cnn("densenet"),
            defaults={"options": {"layers": [4, 8, 12, 8], "growth_rate": 12}},
        ),
        ReferenceModel(
            "unetpp",
            "UNet++ (Dice + BCE), pre-trained on cervix masks",
            (SEGMENTATION,),
            ("unetpp", "unetpp/no-pretraining"),
            _unetpp,
            defaults={"options": {"base_width": 16}},
        ),
        ReferenceModel(
            "pixel-baseline",
            "Per-pixel colour features, logistic regression",
            (SEGMENTATION,),
            ("baseline",),
            _pixel_baseline,
        ),
    )
}

DEFAULT_MODELS = {
    CLASSIFICATION: (
        "baseline",
        "repvgg",
        "unetpp-repvgg-vote",
        "cnn-lgbm",
        "vgg",
        "resnet",
        "densenet",
    ),  # fmt: skip
    SEGMENTATION: ("pixel-baseline", "unetpp"),
}


def model_kind(task_is_segmentation: bool) -> str:
    return SEGMENTATION if task_is_segmentation else CLASSIFICATION
