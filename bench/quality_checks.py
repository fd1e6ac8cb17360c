"""The cost of every per-image check on one image, as a ratio to one plain full-resolution
Pillow decode of the same image, measured in the same run.

    .venv/bin/python bench/quality_checks.py [--n 12] [--size 2048x1536] [--repeat 3]
        [--iarc ../shared/data/iarc]

For N synthetic JPEGs of the given size (fixtures.synthetic_cervix, one step each in turn), and
then for every image of the shared IARC banks when present: the median time of a plain
full-resolution decode (the baseline), the median time of all the image checks (resolution,
focus, exposure, glare, blood, step_consistency, framing) on one shared ImageContext, as the
runner builds it (one reduced decode, its HSV planes, cervix region and highlights), including
the overlays' PNGs, and their ratio (target <= 2). Each image is measured --repeat times, the
decode and the checks side by side, and the fastest of each kept, so a busy machine favours
neither. The duplicate check (an index lookup in the database) is not included. Ends with one
line `RESULT {json}`.
"""

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from result import print_result  # noqa: E402 - bench/result.py, beside this script

TARGET = 2.0
IMAGE_CHECKS = ("resolution", "focus", "exposure", "glare", "blood", "step_consistency", "framing")


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def plain_decode(data: bytes) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()


def all_checks(data: bytes, step: str) -> None:
    from curation.checks import image_checks, registry  # noqa: F401 - registers the checks
    from curation.checks.context import ImageContext
    from curation.checks.defaults import DEFAULTS

    image = SimpleNamespace(step=step, capture_device="", case=None)
    ctx = ImageContext(image=image, data=data, _thresholds=dict(DEFAULTS))
    for name in IMAGE_CHECKS:
        registry.get(name).run(ctx)


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def measure(images: list[tuple[bytes, str]], repeat: int) -> dict:
    decodes, checks, ratios = [], [], []
    for data, step in images:
        best_decode = best_checks = float("inf")
        for _ in range(repeat):
            best_decode = min(best_decode, timed(plain_decode, data))
            best_checks = min(best_checks, timed(all_checks, data, step))
        decodes.append(best_decode)
        checks.append(best_checks)
        ratios.append(best_checks / best_decode)
    if not images:
        return {"images": 0}
    return {
        "images": len(images),
        "decode_ms": statistics.median(decodes) * 1000,
        "checks_ms": statistics.median(checks) * 1000,
        "ratio_median": statistics.median(ratios),
        "ratio_p90": sorted(ratios)[int(0.9 * (len(ratios) - 1))],
    }


def iarc_images(root: Path) -> list[tuple[bytes, str]]:
    if not root.exists():
        return []
    sys.path.insert(0, str(ROOT / "bench"))
    import calibrate_checks

    return [(s.path.read_bytes(), s.step) for s in calibrate_checks.listing(root)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--size", default="2048x1536")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--iarc", type=Path, default=ROOT.parent / "shared" / "data" / "iarc")
    args = parser.parse_args()
    setup_django()
    from fixtures import synthetic_cervix as sc

    width, height = (int(v) for v in args.size.lower().split("x"))
    synthetic = [
        (sc.render_jpeg(step, size=(width, height), seed=i), step)
        for i, step in zip(range(args.n), sc.STEPS * args.n, strict=False)
    ]
    all_checks(*synthetic[0])  # warm up: imports, first allocations
    figures = {"synthetic": {"size": args.size, **measure(synthetic, args.repeat)}}
    iarc = iarc_images(args.iarc)
    figures["iarc"] = measure(iarc, args.repeat) if iarc else {"images": 0, "skipped": "absent"}
    print(figures, flush=True)
    print_result(
        figures,
        {
            "synthetic_ratio": {"figure": "synthetic.ratio_median", "max": TARGET},
            "iarc_ratio": {"figure": "iarc.ratio_median", "max": TARGET},
        },
    )


if __name__ == "__main__":
    main()
