"""Calibrates the near-duplicate radius on the real IARC images (docs/near-duplicates.md).

    .venv/bin/python bench/calibrate_duplicates.py [--iarc ../shared/data/iarc] [--radius 6]
        [--limit N]

For every JPEG of the IARC banks (colposcopy and VIA, one folder per case; read in place, never
copied), the project's own fingerprint (curation.fingerprints.fingerprint_of) of:

- the image itself, and the other images of its case: different photographs of one cervix a few
  seconds or minutes apart (saline, acetic acid, green filter, Lugol's), the near-but-different
  pairs that must not be duplicates; and the images of other cases;
- copies of it that must be found: re-encoded (JPEG quality 95, 75, 50, 30; PNG), resized (1/4,
  1/2, 2/3, 1.5×, 2×), lightly annotated (a line, a circle, a line of text drawn on it), 10%
  brighter, in grey;
- edits that are not copies the index promises to find, measured to say how far they go: cropped
  by 2, 5 or 10% on each side, a black bar over the bottom tenth, a white label box in a corner,
  turned by 3°, a quarter turn, a mirror image;
- the same file decoded at full size instead of the reduced (draft) decode the bank uses.

Prints each distribution, and for the radius (default: the bank's near_radius): the share of
copies found per edit, and the pairs of different images within it. Ends with `RESULT {json}`.
"""

import argparse
import io
import itertools
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from result import print_result  # noqa: E402 - bench/result.py, beside this script

BANKS = ("colposcopy", "via")
COPIES_FOUND_TARGET = 0.99  # share of the copies the index must find
WITHIN_CASE_TARGET = 0.01  # share of a case's pairs of different images it may call near


def setup_django(data_dir: Path) -> None:
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DATABASE_URL"] = ""
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def _jpeg(picture, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def copies(data: bytes) -> dict[str, bytes]:
    """The edits that make a copy the index must find."""
    from PIL import Image, ImageDraw

    picture = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = picture.size
    out = {f"jpeg q{q}": _jpeg(picture, q) for q in (95, 75, 50, 30)}
    png = io.BytesIO()
    picture.save(png, "PNG")
    out["png"] = png.getvalue()
    for name, scale in (("1/4", 0.25), ("1/2", 0.5), ("2/3", 2 / 3), ("1.5x", 1.5), ("2x", 2)):
        size = (round(w * scale), round(h * scale))
        out[f"resized {name}"] = _jpeg(picture.resize(size, Image.Resampling.LANCZOS), 85)
    marked = picture.copy()
    ImageDraw.Draw(marked).line(
        [(w * 0.1, h * 0.1), (w * 0.4, h * 0.3)], fill=(0, 255, 0), width=max(2, w // 200)
    )
    out["line drawn"] = _jpeg(marked)
    marked = picture.copy()
    ImageDraw.Draw(marked).ellipse([w * 0.6, h * 0.6, w * 0.7, h * 0.7], outline="yellow", width=3)
    out["circle drawn"] = _jpeg(marked)
    marked = picture.copy()
    ImageDraw.Draw(marked).text(
        (10, 10), "CASE 12 2024-03-05 LUGOL", fill="white", font_size=max(12, h // 25)
    )
    out["text drawn"] = _jpeg(marked)
    out["10% brighter"] = _jpeg(Image.eval(picture, lambda v: min(255, int(v * 1.1))))
    out["grey"] = _jpeg(picture.convert("L"))
    return out


def other_edits(data: bytes) -> dict[str, bytes]:
    """Edits measured but not promised."""
    from PIL import Image, ImageDraw, ImageOps

    picture = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = picture.size
    out = {}
    for share in (0.02, 0.05, 0.10):
        box = (round(w * share), round(h * share), round(w * (1 - share)), round(h * (1 - share)))
        out[f"cropped {share:.0%}"] = _jpeg(picture.crop(box))
    marked = picture.copy()
    ImageDraw.Draw(marked).rectangle([0, h * 0.9, w, h], fill="black")
    out["black bar 10%"] = _jpeg(marked)
    marked = picture.copy()
    ImageDraw.Draw(marked).rectangle([w * 0.02, h * 0.02, w * 0.17, h * 0.10], fill="white")
    out["label box"] = _jpeg(marked)
    out["turned 3 degrees"] = _jpeg(picture.rotate(3))
    out["quarter turn"] = _jpeg(picture.rotate(90, expand=True))
    out["mirrored"] = _jpeg(ImageOps.mirror(picture))
    return out


def full_decode_hash(data: bytes) -> int:
    from PIL import Image, ImageOps

    from curation.fingerprints import phash_of_image

    return phash_of_image(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))


def summary(values: list[int]) -> dict:
    array = np.array(values)
    return {
        "n": len(values),
        "min": int(array.min()),
        "p1": float(np.percentile(array, 1)),
        "p5": float(np.percentile(array, 5)),
        "median": float(np.median(array)),
        "p99": float(np.percentile(array, 99)),
        "max": int(array.max()),
    }


def histogram(values: list[int], top: int = 24) -> str:
    counts = np.bincount(np.minimum(values, top + 1), minlength=top + 2)
    return " ".join(f"{d}:{c}" for d, c in enumerate(counts[: top + 1]) if c) + (
        f" >{top}:{counts[top + 1]}" if counts[top + 1] else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iarc", type=Path, default=ROOT.parent / "shared" / "data" / "iarc")
    parser.add_argument("--radius", type=int, default=None, help="default: the bank's radius")
    parser.add_argument("--limit", type=int, default=None, help="at most N images (a quick run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="calibrate-duplicates-") as folder:
        setup_django(Path(folder))
        from curation.checks.defaults import DEFAULTS
        from curation.fingerprints import distance, fingerprint_of

        radius = args.radius if args.radius is not None else DEFAULTS["duplicate"]["near_radius"]
        radius = int(radius)
        cases: dict[str, list[Path]] = defaultdict(list)
        for bank in BANKS:
            for path in sorted((args.iarc / bank).glob("*/*.jpg")):
                cases[f"{bank}/{path.parent.name}"].append(path)
        paths = [path for files in cases.values() for path in files][: args.limit]
        chosen = set(paths)
        hashes: dict[Path, int] = {}
        promised: dict[str, list[int]] = defaultdict(list)
        measured: dict[str, list[int]] = defaultdict(list)
        decode_difference = []
        for number, path in enumerate(paths, start=1):
            data = path.read_bytes()
            hashes[path] = fingerprint_of(data)
            decode_difference.append(distance(hashes[path], full_decode_hash(data)))
            for edit, copy in copies(data).items():
                promised[edit].append(distance(hashes[path], fingerprint_of(copy)))
            for edit, copy in other_edits(data).items():
                measured[edit].append(distance(hashes[path], fingerprint_of(copy)))
            if number % 50 == 0:
                print(f"{number} / {len(paths)} images", flush=True)

        within, close_pairs = [], []
        for name, files in cases.items():
            files = [f for f in files if f in chosen]
            for a, b in itertools.combinations(files, 2):
                d = distance(hashes[a], hashes[b])
                within.append(d)
                if d <= radius:
                    close_pairs.append(f"{name}: {a.name} / {b.name} ({d})")
        case_of = {path: name for name, files in cases.items() for path in files}
        across = [
            distance(hashes[a], hashes[b])
            for a, b in itertools.combinations(paths, 2)
            if case_of[a] != case_of[b]
        ]

    print(f"\n{len(paths)} images in {len(cases)} cases; radius {radius}")
    print(f"different images of one case ({len(within)} pairs): {histogram(within)}")
    print(f"images of different cases ({len(across)} pairs): min {min(across)}")
    print("pairs of one case within the radius:", *close_pairs, sep="\n  ")
    print("copies (must be found): distance to the original")
    for edit, values in promised.items():
        print(f"  {edit:16s} {histogram(values)}")
    print("other edits (not promised):")
    for edit, values in measured.items():
        found = sum(v <= radius for v in values) / len(values)
        print(f"  {edit:16s} found {found:6.1%}  median {np.median(values):4.1f}")
    print(f"full decode vs reduced decode: {histogram(decode_difference)}")

    all_copies = [v for values in promised.values() for v in values]
    figures = {
        "radius": radius,
        "images": len(paths),
        "within_case": summary(within),
        "within_case_pairs_within_radius": len(close_pairs),
        "within_case_share_within_radius": len(close_pairs) / len(within),
        "across_cases": summary(across),
        "across_cases_pairs_within_radius": sum(d <= radius for d in across),
        "copies": {edit: summary(values) for edit, values in promised.items()},
        "copies_found": sum(v <= radius for v in all_copies) / len(all_copies),
        "copies_found_by_edit": {
            edit: sum(v <= radius for v in values) / len(values)
            for edit, values in promised.items()
        },
        "other_edits_found": {
            edit: sum(v <= radius for v in values) / len(values)
            for edit, values in measured.items()
        },
        "full_vs_reduced_decode": summary(decode_difference),
    }
    print_result(
        figures,
        {
            "copies_found": {"figure": "copies_found", "min": COPIES_FOUND_TARGET},
            "within_case_share": {
                "figure": "within_case_share_within_radius",
                "max": WITHIN_CASE_TARGET,
            },
        },
    )


if __name__ == "__main__":
    main()
