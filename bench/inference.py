"""The inference path of each reference model against a bare forward pass of its networks.

    .venv/bin/python bench/inference.py [--device cpu|cuda] [--size 64] [--images 16]
        [--batch-size 8] [--rounds 5] [--models repvgg,unetpp,…] [--threads 1]
        [--clock cpu|wall]

For each reference network model (issue 14: repvgg, vgg, resnet, densenet, cnn-lgbm, unetpp and
the segmentation-guided pipeline unetpp-repvgg-vote; the baseline and pixel-baseline have no
network to compare with), built with the options the benchmark's jobs use
(model_bench.reference_models' defaults; randomly initialised: the cost of a forward pass does not
depend on the weights), on the same batch of synthetic uint8 images (N, S, S, 3):

- the path: what the worker runs on a split's decoded images, from uint8 arrays to probabilities
  in NumPy: normalisation, batching, the transfer to the device, the networks (RepVGG
  re-parameterised), softmax or sigmoid and the copy back; for the pipeline all of
  TrainedPipeline.predict (both segmenters, the region images, the six variants, the classifier on
  each, the three original variants through the second classifier, the weighted votes of the four
  rows);
- the bare pass: the same networks' forward calls on the same batches, as tensors already
  normalised and on the device (for the pipeline, the tensors of the variants that path made; for
  cnn-lgbm the CNN's features and then LightGBM on them, the trees being part of the model).

Both run --rounds times after a warm-up, alternating call by call (a fast model's calls repeated
for at least half a second a round), the fastest round of each kept (a busy machine favours
neither).
On the CPU the clock is the process's CPU time, on one torch thread by default: the machines this
runs on are shared, and elapsed time there measures the neighbours (CPU time with several threads
would count OpenMP's spinning threads against the networks). On CUDA it is elapsed time, the
device synchronised. `models.<name>.overhead` is path / bare − 1, the time spent outside the
networks as a fraction of the networks' own (target <= 0.2 for each model). Ends with one line
`RESULT {json}`.

The defaults finish in well under a minute on a loaded 2-core CPU; at the tasks' size on a GPU:
`--device cuda --size 224 --images 64 --batch-size 32`. There the networks take milliseconds and
the path's NumPy work on the CPU (normalising each batch, and for the pipeline the region images
and variants) weighs far more than on a CPU, which is what this script is there to show.
"""

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from result import print_result  # noqa: E402 - bench/result.py, beside this script

from model_bench.networks import build  # noqa: E402
from model_bench.networks.determinism import pick_device  # noqa: E402
from model_bench.networks.repvgg import deploy  # noqa: E402
from model_bench.training import hybrid  # noqa: E402
from model_bench.training.classifiers import TrainedClassifier, predict_proba  # noqa: E402
from model_bench.training.data import batches, to_tensor  # noqa: E402
from model_bench.training.pipeline import (  # noqa: E402
    DEFAULT_WEIGHTS,
    ORIGINAL_VARIANTS,
    TrainedPipeline,
    variant_images,
    variants_of,
)
from model_bench.training.segmentation import build_segmenter, predict_masks  # noqa: E402

TARGET = 0.2
ROUND_S = 0.5  # the least time one round of one model's calls runs
# The options the benchmark's jobs build each network with (model_bench.reference_models).
CLASSIFIERS = {
    "repvgg": {"width_multiplier": 0.5},
    "vgg": {"width_multiplier": 0.25},
    "resnet": {"width_multiplier": 0.5},
    "densenet": {"layers": [4, 8, 12, 8], "growth_rate": 12},
}
# cnn-lgbm: the hybrid's ResNet at the job's width, then its trees (model_bench.training.hybrid).
HYBRID = {"backbone": "resnet", "options": {"width_multiplier": 0.5}}
SEGMENTER = {"base_width": 16}
PIPELINE = {"segmenter": {}, "classifier": {}}  # the pipeline runs at the networks' defaults
MODELS = (*CLASSIFIERS, "cnn-lgbm", "unetpp", "unetpp-repvgg-vote")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_forwards(
    calls: list[tuple[torch.nn.Module, torch.Tensor]], batch_size: int, device: torch.device
) -> Callable[[], None]:
    """A function running each network on its tensor, batch by batch, on the device."""

    def run() -> None:
        with torch.no_grad():
            for network, tensor in calls:
                for index in batches(len(tensor), batch_size):
                    network(tensor[index])
        synchronize(device)

    return run


def on_device(images: np.ndarray, device: torch.device) -> torch.Tensor:
    return to_tensor(images).to(device)


def classifier_case(name: str, images: np.ndarray, batch_size: int, device: torch.device):
    torch.manual_seed(0)
    network = build(name, num_classes=2, **CLASSIFIERS[name]).to(device).eval()
    if name == "repvgg":
        network = deploy(network)  # the worker deploys RepVGG before predicting

    def path() -> None:
        predict_proba(network, images, batch_size=batch_size, device=str(device))

    return path, bare_forwards([(network, on_device(images, device))], batch_size, device)


def hybrid_case(images: np.ndarray, batch_size: int, device: torch.device):
    """The CNN's pooled features then LightGBM, as HybridModel.predict_proba runs them. The trees
    are part of the model, so the bare pass is the CNN's features on the device tensors plus the
    booster on those features: what is left outside is the conversion and the copies. The booster
    has every round the trainer allows (no early stopping), fitted on random features."""
    torch.manual_seed(0)
    options = {**hybrid.BACKBONE_DEFAULTS[HYBRID["backbone"]], **HYBRID["options"]}
    network = build(HYBRID["backbone"], num_classes=2, **options).to(device).eval()
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, network.num_features)).astype(np.float32)
    booster = lgb.train(
        {**hybrid.LGBM_PARAMS, "seed": 0, "objective": "binary"},
        lgb.Dataset(features, label=rng.integers(0, 2, 200)),
        num_boost_round=hybrid.NUM_BOOST_ROUND,
    )
    model = hybrid.HybridModel(
        cnn=TrainedClassifier(HYBRID["backbone"], network, options=options),
        booster=booster,
        n_classes=2,
        best_iteration=0,
        batch_size=batch_size,
        device=str(device),
    )
    x = on_device(images, device)
    features_of_images = hybrid.extract_features(
        network, images, batch_size=batch_size, device=str(device)
    )

    def bare() -> None:
        with torch.no_grad():
            for index in batches(len(x), batch_size):
                network.features(x[index])
        synchronize(device)
        booster.predict(features_of_images)

    def path() -> None:
        model.predict_proba(images)

    return path, bare


def segmenter_case(images: np.ndarray, batch_size: int, device: torch.device):
    torch.manual_seed(0)
    network = build_segmenter(SEGMENTER).to(device).eval()

    def path() -> None:
        predict_masks(network, images, batch_size=batch_size, device=str(device))

    return path, bare_forwards([(network, on_device(images, device))], batch_size, device)


def pipeline_case(images: np.ndarray, batch_size: int, device: torch.device):
    torch.manual_seed(0)
    segmenter = build_segmenter(PIPELINE["segmenter"]).to(device)
    scratch = build_segmenter(PIPELINE["segmenter"]).to(device)
    classifier = build("repvgg", num_classes=2, **PIPELINE["classifier"]).to(device)
    classifier_original = build("repvgg", num_classes=2, **PIPELINE["classifier"]).to(device)
    pipeline = TrainedPipeline(
        segmenter=segmenter,
        segmenter_scratch=scratch,
        classifier=classifier,
        classifier_original=classifier_original,
        n_classes=2,
        weights=DEFAULT_WEIGHTS,
        segmenter_options=PIPELINE["segmenter"],
        classifier_options=PIPELINE["classifier"],
        batch_size=batch_size,
        device=str(device),
    )
    # The bare pass runs every forward call predict makes, on the variants predict made.
    full = variant_images(images, pipeline.regions(images))
    scratch_regions = variants_of(pipeline.regions(images, scratch=True), "region")
    deployed, deployed_original = (
        pipeline.networks["classifier"],
        pipeline.networks["classifier_original"],
    )
    x = on_device(images, device)
    calls = [(segmenter, x), (scratch, x)]
    calls += [(deployed, on_device(variant, device)) for variant in full.values()]
    calls += [(deployed, on_device(variant, device)) for variant in scratch_regions.values()]
    calls += [(deployed_original, on_device(full[name], device)) for name in ORIGINAL_VARIANTS]

    def path() -> None:
        pipeline.predict(images)

    return path, bare_forwards(calls, batch_size, device)


def measure(
    path: Callable[[], None], bare: Callable[[], None], rounds: int, clock: Callable[[], float]
) -> dict:
    path(), bare()  # warm-up: allocations, kernel choice, caches
    started = clock()
    bare()
    # Each round repeats a fast model's calls for at least ROUND_S, so that a small network is not
    # timed on one call of a few milliseconds, at the mercy of the scheduler.
    repeats = max(1, math.ceil(ROUND_S / max(clock() - started, 1e-6)))
    path_times, bare_times = [], []
    for _ in range(rounds):
        # The two alternate call by call, so that a neighbour's burst slows both alike.
        spent = {path: 0.0, bare: 0.0}
        for _ in range(repeats):
            for run in (path, bare):
                started = clock()
                run()
                spent[run] += clock() - started
        path_times.append(spent[path] / repeats)
        bare_times.append(spent[bare] / repeats)
    path_s, bare_s = min(path_times), min(bare_times)
    return {"path_s": path_s, "bare_s": bare_s, "overhead": path_s / bare_s - 1, "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: its default)")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        help="cpu: this process's CPU time (the default on the CPU); wall: elapsed time (CUDA)",
    )
    args = parser.parse_args()
    models = [name for name in args.models.split(",") if name]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    clock_name = args.clock or ("cpu" if args.device == "cpu" else "wall")
    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    targets = {
        f"overhead_{name}": {"figure": f"models.{name}.overhead", "max": TARGET} for name in models
    }
    try:
        device = pick_device(args.device)
    except RuntimeError as error:
        print_result({"skipped": str(error)}, targets)
        return
    images = np.random.default_rng(0).integers(
        0, 256, (args.images, args.size, args.size, 3), dtype=np.uint8
    )
    results = {}
    for name in models:
        if name in CLASSIFIERS:
            path, bare = classifier_case(name, images, args.batch_size, device)
        elif name == "cnn-lgbm":
            path, bare = hybrid_case(images, args.batch_size, device)
        elif name == "unetpp":
            path, bare = segmenter_case(images, args.batch_size, device)
        else:
            path, bare = pipeline_case(images, args.batch_size, device)
        results[name] = measure(path, bare, args.rounds, clock)
        results[name]["images_per_s"] = args.images / results[name]["path_s"]
        print(name, {key: round(value, 4) for key, value in results[name].items()}, flush=True)
    figures = {
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "clock": clock_name,
        "size": args.size,
        "images": args.images,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "models": results,
        "max_overhead": max(result["overhead"] for result in results.values()),
    }
    print_result(figures, targets)


if __name__ == "__main__":
    main()
