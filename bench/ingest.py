"""Ingest throughput and cost, compared with a plain Pillow decode measured in the same run.

    .venv/bin/python bench/ingest.py [--n 24] [--size 2048x1536] [--iarc ../shared/data/iarc]

Prints, for N synthetic JPEGs of the given size:
- the median time of one plain full-resolution Pillow decode (the baseline);
- the median per-image cost of what ingest does to a file (validation with a full decode,
  de-identification, hashes, preview and thumbnail) and its ratio to the baseline (target <= 1.5);
- peak resident memory of the pipeline over N/4 and over N images (target: no growth with N);
- images per second through the whole import (database, storage) for the synthetic images as a
  case package and for the shared IARC sample, on SQLite in a temporary folder.
"""

import argparse
import hashlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(data_dir: Path) -> None:
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagebank.settings")
    for name in ("DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME"):
        os.environ.pop(name, None)  # the embedded engines: the figures measure our code
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["LOG_LEVEL"] = "WARNING"  # the figures, not every task's log line
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def plain_decode(data: bytes) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()


def pipeline(data: bytes, name: str) -> None:
    """Everything a bulk import does to one file, without the database: validation (a full
    entropy decode), de-identification, hashes, and the preview and thumbnail made from the same
    decode (imagebank.ingest.writer)."""
    from imagebank.ingest.prepared import prepare_upload

    prepared = prepare_upload(data, name, with_previews=True)
    hashlib.sha256(prepared.data).hexdigest()  # the content-addressed keys
    hashlib.sha256(prepared.derivatives.preview_jpeg).hexdigest()
    hashlib.sha256(prepared.derivatives.thumbnail_jpeg).hexdigest()


def one_by_one(data: bytes, name: str) -> None:
    """The same for one image sent through the form or the API: checked while the request
    waits, previews made afterwards by the worker's process_image (so decoded twice)."""
    from imagebank import image_processing
    from imagebank.ingest.prepared import prepare_upload

    prepared = prepare_upload(data, name)
    hashlib.sha256(prepared.data).hexdigest()
    image_processing.derive(prepared.data, name)


def median_seconds(function, items, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        for item in items:
            started = time.perf_counter()
            function(*item)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_bytes(items) -> int:
    """Peak resident memory while the pipeline runs over the items (Linux: the high-water mark
    is reset first, so what rendering the inputs used does not count). Pillow's pixel buffers are
    outside Python's allocator, so tracemalloc would not see them."""
    Path("/proc/self/clear_refs").write_text("5")
    for data, name in items:
        pipeline(data, name)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def import_rate(paths: list[Path], site_slug: str) -> tuple[int, float, dict]:
    from imagebank.services.ingest import importer_for, run_ingest
    from imagebank.services.sites import create_site

    site = create_site(
        slug=site_slug, name=site_slug, country="FR", clinical_setting="research_centre"
    )
    actor = importer_for(site)
    started = time.perf_counter()
    run = run_ingest(site=site, actor=actor, paths=paths)
    seconds = time.perf_counter() - started
    return run.summary.get("images_added", 0), seconds, run.summary


def synthetic_package(folder: Path, images: list[tuple[bytes, str]]) -> Path:
    """A case package (see docs/formats/case-package.md) of the images, four to a case."""
    import json

    from fixtures.synthetic_cervix import STEPS

    package = folder / "package"
    package.mkdir()
    cases = []
    for start in range(0, len(images), 4):
        listed = []
        for order, (data, name) in enumerate(images[start : start + 4], start=1):
            (package / name).write_bytes(data)
            listed.append({"file": name, "step": STEPS[(order - 1) % 4], "order": order})
        number = start // 4 + 1
        cases.append(
            {"case_id": f"B-{number:03d}", "local_patient_id": f"bench-{number}", "images": listed}
        )
    manifest = {"format": "cervical-image-bank/case-package", "version": 1, "cases": cases}
    (package / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--size", default="2048x1536")
    parser.add_argument("--iarc", type=Path, default=ROOT.parent / "shared" / "data" / "iarc")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        setup_django(Path(folder) / "data")
        from fixtures.synthetic_cervix import STEPS, render_jpeg

        print(f"rendering {args.n} synthetic {width}x{height} JPEGs …", flush=True)
        images = [
            (
                render_jpeg(STEPS[i % 4], seed=i, size=(width, height), quality=92),
                f"img-{i:04d}.jpg",
            )
            for i in range(args.n)
        ]
        mean_kib = statistics.mean(len(d) for d, _ in images) / 1024
        decode = median_seconds(lambda data, name: plain_decode(data), images, repeat=2)
        cost = median_seconds(pipeline, images, repeat=2)
        single = median_seconds(one_by_one, images, repeat=2)
        print(f"images: {args.n} x {width}x{height} JPEG, mean {mean_kib:.0f} KiB")
        print(f"baseline, one plain Pillow decode: {decode * 1000:.1f} ms (median)")
        print(f"ingest per image (validate, de-identify, hash, preview): {cost * 1000:.1f} ms")
        print(f"ratio to one decode: {cost / decode:.2f} (target <= 1.5)")
        print(
            f"one image through the form or API (check now, previews in the worker): "
            f"{single * 1000:.1f} ms = {single / decode:.2f} decodes"
        )
        quarter = max(1, args.n // 4)
        small, large = peak_rss_bytes(images[:quarter]), peak_rss_bytes(images)
        print(
            f"peak resident memory during the pipeline: {small / 2**20:.0f} MiB over {quarter} "
            f"images, {large / 2**20:.0f} MiB over {args.n} (target: no growth with N)"
        )

        package = synthetic_package(Path(folder), images)
        added, seconds, _ = import_rate([package], "bench-synthetic")
        print(
            f"full import, synthetic case package: {added} images in {seconds:.1f} s "
            f"= {added / seconds:.1f} images/s"
        )
        if args.iarc.exists():
            for bank in ("colposcopy", "via"):
                added, seconds, summary = import_rate([args.iarc / bank], f"bench-{bank}")
                print(
                    f"full import, IARC {bank}: {added} images in {seconds:.1f} s "
                    f"= {added / max(seconds, 1e-9):.1f} images/s; {summary}"
                )
        else:
            print(f"IARC sample not found at {args.iarc}: skipped")


if __name__ == "__main__":
    main()
