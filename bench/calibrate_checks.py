"""Calibrate the image checks' thresholds on the real IARC images, and measure the step
classifier's accuracy on cases it was not tuned on.

    .venv/bin/python bench/calibrate_checks.py [--iarc ../shared/data/iarc] [--json FILE]

Reads both banks (colposcopy/ and via/: the case folders and "Cases - Images.xlsx", whose step
wordings are read as the importer reads them), computes every measure of every image exactly as
the checks do (one reduced decode, its HSV planes and cervix region), and prints:
- each measure's distribution (percentiles) per declared step;
- the thresholds chosen by the rules below and how many images each check passes, warns and fails
  with them (the figures in docs/quality-checks.md);
- step_consistency: the classifier's thresholds tuned on the colposcopy bank and tested on the
  VIA bank, and a 5-fold cross-validation by case over both banks (each fold tuned on the cases
  of the other four): accuracy at telling Lugol's iodine images from saline / acetic-acid images
  (target >= 95%) and the share of labelled images flagged as a mismatch (target <= 3%).

How each threshold is chosen (CHOICES below):
- focus: each image is blurred (Gaussian, radius in pixels of the 800-pixel-wide frame) and
  measured again; warn below the median focus of the IARC images blurred by WARN_BLUR pixels, fail
  below the median at FAIL_BLUR pixels: an image as soft as a typical sharp one blurred that much;
- glare, blood, exposure: upper percentiles of the banks (the worst few per cent warn, the worst
  one per cent or so fail), rounded, and checked by looking at the images flagged;
- framing: the share of the region's outline on the frame's edges and the region's area;
- resolution: the banks' smallest images (640x480) pass; below 640 px on the long side warns,
  below 480 fails.
It also reports how well the cervix region matches the cervix masks drawn on the VIA images
(via-masks/cervix): the mean IoU of the region and of a fixed central ellipse.
Ends with one line `RESULT {json}`.
"""

import argparse
import json
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from result import print_result  # noqa: E402 - bench/result.py, beside this script

BANKS = ("colposcopy", "via")
WARN_BLUR = 2.0
FAIL_BLUR = 4.0
REFERENCE_WIDTH = 800  # blur radii are given in pixels of a frame this wide
FOLDS = 5


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


@dataclass
class Sample:
    bank: str
    case: int
    file: str
    step: str  # the step code the importer gives the wording
    wording: str
    path: Path


def listing(root: Path) -> list[Sample]:
    """Every listed image of both banks that exists on disk, with its step code."""
    import openpyxl

    from imagebank.ingest.iarc_columns import step_code

    samples = []
    for bank in BANKS:
        folder = root / bank
        workbook = openpyxl.load_workbook(folder / "Cases - Images.xlsx", read_only=True)
        rows = list(workbook.active.iter_rows(values_only=True))
        header = [str(cell or "").strip().casefold() for cell in rows[0]]
        file_col = header.index("file")
        type_col = header.index("type")
        for row in rows[1:]:
            if row[0] is None or row[file_col] is None:
                continue
            case = int(str(row[0]).strip())
            name = str(row[file_col]).strip()
            wording = str(row[type_col] or "").strip()
            path = folder / f"Case {case:03d}" / name
            if path.exists():
                samples.append(Sample(bank, case, name, step_code(wording)[0], wording, path))
    return samples


def measure(sample: Sample, blurs: tuple[float, ...] = (WARN_BLUR, FAIL_BLUR)) -> dict:
    """Every measure of one image, as the checks compute them (curation.checks.image_checks)."""
    from curation.analysis import measures, step
    from curation.checks.context import ImageContext

    ctx = ImageContext.for_file(sample.path.read_bytes(), sample.step)
    decoded, rgb, colour, region = ctx.decoded, ctx.rgb, ctx.hsv, ctx.region
    glare, highlights = measures.glare(colour, region)
    blood, _ = measures.blood(colour, region)
    exposure = measures.exposure(colour, region, highlights)
    framing = measures.framing(region)
    scores = step.scores(colour, ctx.step_area, highlights)
    out = {
        "width": decoded.width,
        "height": decoded.height,
        "focus": measures.focus(rgb, region, highlights),
        "glare": glare,
        "blood": blood,
        "under": exposure.under,
        "over": exposure.over,
        "at_edge": framing.at_edge,
        "area": framing.area,
        "lugol": scores.lugol,
        "green": scores.green,
        "grey": scores.grey,
    }
    image = Image.fromarray(rgb)
    for radius in blurs:
        scaled = radius * rgb.shape[1] / REFERENCE_WIDTH
        blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(scaled)))
        out[f"focus_blur{radius:g}"] = measures.focus(blurred, region, highlights)
    return out


def region_agreement(root: Path) -> dict:
    """The cervix region against the cervix masks drawn on the VIA images (via-masks/cervix,
    `Case-NNN_<file>.png`, 0/1 on the image resized to 512x512): the mean IoU of the region and
    of the fixed central ellipse that stands in when the clustering finds nothing."""
    from curation.analysis.masks import resized
    from curation.analysis.region import central_ellipse
    from curation.checks.context import ImageContext

    folder = root / "via-masks" / "cervix"
    found, ellipse = [], []
    for mask_path in sorted(folder.glob("Case-*_*.png")) if folder.exists() else []:
        case, _, name = mask_path.stem.partition("_")
        image_path = root / "via" / f"Case {int(case.split('-')[1]):03d}" / f"{name}.jpg"
        if not image_path.exists():
            continue
        region = ImageContext.for_file(image_path.read_bytes()).region
        drawn = resized(np.asarray(Image.open(mask_path).convert("L")) > 0, region.shape)
        if not drawn.any():
            continue
        for kind, mask in ((found, region), (ellipse, central_ellipse(region.shape))):
            kind.append(np.count_nonzero(mask & drawn) / np.count_nonzero(mask | drawn))
    if not found:
        return {"images": 0}
    return {
        "images": len(found),
        "region_mean_iou": float(np.mean(found)),
        "central_ellipse_mean_iou": float(np.mean(ellipse)),
    }


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    q = np.percentile(values, [0, 5, 25, 50, 75, 95, 99, 100])
    return " ".join(f"{v:.4g}" for v in q)


LUGOL_STEPS = {"after_lugol"}
COLOUR_STEPS = {"before_acetic_acid", "after_acetic_acid"}


def tune(rows: list[dict]) -> float:
    """The Lugol's iodine threshold that gives the fewest wrong verdicts on these images (Lugol's
    images taken for colour plus saline / acetic-acid images taken for Lugol's): the midpoint of
    the longest run of consecutive candidates that reach the fewest (the lowest such run where
    two are as long), so a lone lucky candidate or a gap between two runs is never chosen.
    Fewest wrong verdicts, not balanced accuracy: every saline or acetic-acid image wrongly
    flagged costs a reviewer's look, and they outnumber the Lugol's images about four to one;
    balancing the classes would trade several such flags for each Lugol's image caught."""
    lugol = np.array([r["lugol"] for r in rows if r["step"] in LUGOL_STEPS])
    colour = np.array([r["lugol"] for r in rows if r["step"] in COLOUR_STEPS])
    candidates = np.round(np.arange(0.02, 0.9, 0.01), 2)
    wrong = np.array([(lugol < t).sum() + (colour >= t).sum() for t in candidates])
    best = wrong == wrong.min()
    runs, start = [], None
    for index, hit in enumerate([*best, False]):
        if hit and start is None:
            start = index
        elif not hit and start is not None:
            runs.append((start, index))
            start = None
    first, end = max(runs, key=lambda run: run[1] - run[0])  # max keeps the first of equals
    return float(np.round(np.median(candidates[first:end]), 2))


def evaluate(rows: list[dict], lugol_min: float, green_min: float) -> dict:
    """Accuracy of Lugol's vs saline/acetic acid, and the mismatch rate of the check."""
    from curation.analysis import step
    from curation.checks.image_checks import judge_step

    binary = [r for r in rows if r["step"] in LUGOL_STEPS | COLOUR_STEPS]
    right = 0
    for r in binary:
        scores = step.StepScores(r["lugol"], r["green"], r["grey"])
        seen, _ = step.classify(scores, lugol_min, green_min)
        right += (seen == step.LUGOL) == (r["step"] in LUGOL_STEPS)
    judged = [r for r in rows if r["step"] in LUGOL_STEPS | COLOUR_STEPS | {"green_filter"}]
    verdicts = {"pass": 0, "warn": 0, "fail": 0}
    for r in judged:
        scores = step.StepScores(r["lugol"], r["green"], r["grey"])
        seen, _ = step.classify(scores, lugol_min, green_min)
        verdicts[judge_step(r["step"], seen)] += 1
    binary_fail = sum(
        judge_step(
            r["step"],
            step.classify(step.StepScores(r["lugol"], r["green"], r["grey"]), lugol_min, green_min)[
                0
            ],
        )
        == "fail"
        for r in binary
    )
    return {
        "images": len(binary),
        "accuracy": right / max(len(binary), 1),
        "mismatch_rate": binary_fail / max(len(binary), 1),
        "verdicts_all_judged": verdicts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iarc", type=Path, default=ROOT.parent / "shared" / "data" / "iarc")
    parser.add_argument("--json", type=Path, help="write every image's measures to this file")
    args = parser.parse_args()
    setup_django()
    from curation.checks.defaults import DEFAULTS

    samples = listing(args.iarc) if args.iarc.exists() else []
    rows = []
    for sample in samples:
        rows.append(
            {
                "bank": sample.bank,
                "case": sample.case,
                "file": sample.file,
                "step": sample.step,
                "wording": sample.wording,
                **measure(sample),
            }
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    per_bank = ", ".join(f"{bank}: {sum(r['bank'] == bank for r in rows)}" for bank in BANKS)
    print(f"{len(rows)} images ({per_bank})")
    steps = sorted({r["step"] for r in rows})
    names = (
        "focus",
        "focus_blur2",
        "focus_blur4",
        "glare",
        "blood",
        "under",
        "over",
        "at_edge",
        "area",
        "lugol",
        "green",
        "grey",
    )
    print("percentiles 0 5 25 50 75 95 99 100")
    for name in names:
        print(f"\n{name}: all  {percentiles([r[name] for r in rows])}")
        for s in steps:
            print(f"  {s:20s} {percentiles([r[name] for r in rows if r['step'] == s])}")

    figures: dict = {"images": len(rows)}
    if rows:
        figures["focus_blur_medians"] = {
            "sharp": statistics.median(r["focus"] for r in rows),
            f"blur{WARN_BLUR:g}": statistics.median(r[f"focus_blur{WARN_BLUR:g}"] for r in rows),
            f"blur{FAIL_BLUR:g}": statistics.median(r[f"focus_blur{FAIL_BLUR:g}"] for r in rows),
        }
        figures["verdicts"] = verdict_counts(rows, DEFAULTS)
        figures["region"] = region_agreement(args.iarc)
        # Step consistency: tune on one bank, test on the other.
        green_min = DEFAULTS["step_consistency"]["green_min"]
        colposcopy = [r for r in rows if r["bank"] == "colposcopy"]
        via = [r for r in rows if r["bank"] == "via"]
        tuned = tune(colposcopy)
        figures["step"] = {
            "tuned_on_colposcopy": tuned,
            "in_defaults": DEFAULTS["step_consistency"]["lugol_min"],
            "colposcopy_training": evaluate(colposcopy, tuned, green_min),
            "via_held_out": evaluate(via, tuned, green_min),
            "via_tuned_on_via": tune(via),
        }
        # Cross-validation by case over both banks.
        keys = sorted({(r["bank"], r["case"]) for r in rows})
        rng = np.random.default_rng(0)
        order = rng.permutation(len(keys))
        fold_of = {keys[i]: k % FOLDS for k, i in enumerate(order)}
        right = total = fails = 0
        for fold in range(FOLDS):
            train = [r for r in rows if fold_of[(r["bank"], r["case"])] != fold]
            test = [r for r in rows if fold_of[(r["bank"], r["case"])] == fold]
            result = evaluate(test, tune(train), green_min)
            right += result["accuracy"] * result["images"]
            fails += result["mismatch_rate"] * result["images"]
            total += result["images"]
        figures["step"]["cross_validated"] = {
            "images": total,
            "accuracy": right / max(total, 1),
            "mismatch_rate": fails / max(total, 1),
        }
        print("\n" + json.dumps(figures, indent=1))
    print_result(
        figures,
        {
            "held_out_accuracy": {"figure": "step.via_held_out.accuracy", "min": 0.95},
            "held_out_mismatch": {"figure": "step.via_held_out.mismatch_rate", "max": 0.03},
            "cv_accuracy": {"figure": "step.cross_validated.accuracy", "min": 0.95},
            "cv_mismatch": {"figure": "step.cross_validated.mismatch_rate", "max": 0.03},
        },
    )


def verdict_counts(rows: list[dict], defaults: dict) -> dict:
    """How many images each check passes, warns and fails with the default thresholds."""
    from curation.checks import image_checks

    counts: dict = {}
    for row in rows:
        for name, verdict in image_checks.verdicts_from_measures(row, defaults).items():
            counts.setdefault(name, {"pass": 0, "warn": 0, "fail": 0})[verdict] += 1
    return counts


if __name__ == "__main__":
    main()
