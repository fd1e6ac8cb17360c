"""Ingest throughput and cost, compared with baselines measured in the same run.

    .venv/bin/python bench/ingest.py [--n 24] [--size 2048x1536] [--iarc ../shared/data/iarc]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres | --database-url none]

Prints, for N synthetic JPEGs of the given size:
- the median time of one plain full-resolution Pillow decode (the baseline);
- the median per-image cost of what ingest does to a file (validation with a full decode,
  de-identification, hashes, preview and thumbnail) and its ratio to the baseline (target <= 1.5);
- peak resident memory of the pipeline over N/4 and over N images (target: no growth with N).

Then, on SQLite and on PostgreSQL, each in a fresh database and media folder, --repeat passes
of: the pipeline alone over the shared IARC sample's images (the colposcopy and VIA banks, files
in memory), then right after it a whole import of both banks (`run_ingest`: reading the source,
the pipeline, storage, the database, the report; into new sites and an empty media folder). For
the median pass: the pipeline's rate, the import's images/s, their ratio (target >= 0.5 on both
engines) and where the import's time went, phase by phase (imagebank.timing). Measuring
the two side by side in each pass keeps a busy machine from favouring either. The synthetic
images are imported too, as a case package.

PostgreSQL: --database-url names a server and a database to connect to; a temporary database is
created there for the run and dropped afterwards. When no server answers, PostgreSQL is skipped
with the reason. Each engine's import runs in a child process of its own (Django's settings are
read once per process). Ends with one line `RESULT {json}`.
"""

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from result import print_result  # noqa: E402 - bench/result.py, beside this script
from scratch_postgres import TemporaryPostgres, postgres_unavailable  # noqa: E402

IARC_BANKS = ("colposcopy", "via")
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
DECODES_TARGET = 1.5
IMPORT_RATIO_TARGET = 0.5
IMPORT_MARK = "IMPORT "
WARM_UP_IMAGES = 16
# Phases of imagebank.timing, in the order of an image's way into the bank.
PHASES = {
    "read files": "reading the image files",
    "prepare": "preparing images: validation, de-identification, previews",
    "store objects": "storing objects",
    "database": "database writes: cases, images, events, permission checks, commits",
    "writer": "the writer's own checks, look-ups and report entries",
    "source and run": "reading the source's listing and workbooks; the run and its report",
}


def setup_django(data_dir: Path, database_url: str = "") -> None:
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    for name in ("REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "MEDIA_ROOT"):
        os.environ.pop(name, None)  # embedded broker, files under data_dir: measure our code
    os.environ["DATABASE_URL"] = database_url  # empty: SQLite in data_dir
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["LOG_LEVEL"] = "WARNING"  # the figures, not every task's log line
    import django

    django.setup()


def plain_decode(data: bytes) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()


def pipeline(data: bytes, name: str) -> None:
    """Everything a bulk import does to one file, without the database: validation (a full
    entropy decode), de-identification, hashes, and the preview and thumbnail made from the same
    decode (imagebank.ingest.writer)."""
    from imagebank.imaging.prepared import prepare_upload

    prepared = prepare_upload(data, name, with_previews=True)
    hashlib.sha256(prepared.data).hexdigest()  # the content-addressed keys
    hashlib.sha256(prepared.derivatives.preview_jpeg).hexdigest()
    hashlib.sha256(prepared.derivatives.thumbnail_jpeg).hexdigest()


def one_by_one(data: bytes, name: str) -> None:
    """The same for one image sent through the form or the API: checked while the request
    waits, previews made afterwards by the worker's process_image (so decoded twice)."""
    from imagebank.imaging import processing as image_processing
    from imagebank.imaging.prepared import prepare_upload

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


def synthetic_package(folder: Path, images: list[tuple[bytes, str]]) -> Path:
    """A case package (see docs/formats/case-package.md) of the images, four to a case."""
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


def source_images(path: Path) -> list[tuple[bytes, str]]:
    """The images an import of the path reads, found by the same reader, read into memory."""
    from imagebank.ingest.report import IngestReport
    from imagebank.ingest.sources import reader_for

    reader = reader_for(path)
    return [
        (image.read(), image.filename)
        for item in reader.read(path, IngestReport())
        for image in item.images
    ]


def pipeline_seconds(images: list[tuple[bytes, str]]) -> float:
    started = time.perf_counter()
    for data, name in images:
        pipeline(data, name)
    return time.perf_counter() - started


# --- whole imports, in a child process with its own database -------------------------------------


def import_source(path: Path, site_slug: str) -> dict:
    from imagebank import timing
    from imagebank.ingest.runs import importer_for, run_ingest
    from imagebank.services.sites import create_site

    site = create_site(
        slug=site_slug, name=site_slug, country="FR", clinical_setting="research_centre"
    )
    actor = importer_for(site)
    with timing.collected() as clock:
        started = time.perf_counter()
        run = run_ingest(site=site, actor=actor, paths=[path])
        seconds = time.perf_counter() - started
    phases = {name: clock.seconds[name] for name in PHASES if name in clock.seconds}
    phases["source and run"] = seconds - sum(phases.values())
    return {
        "images": run.summary.get("images_added", 0),
        "seconds": seconds,
        "phases": phases,
        "errors": run.summary.get("errors", 0),
    }


def media_folder(location: Path):
    """Local storage in a folder of its own while the block runs."""
    from django.conf import settings
    from django.test.utils import override_settings

    default = settings.STORAGES["default"]
    assert default["BACKEND"].endswith("FileSystemStorage"), "the bench measures local files"
    moved = {**default, "OPTIONS": {**default.get("OPTIONS", {}), "location": str(location)}}
    return override_settings(STORAGES={**settings.STORAGES, "default": moved}, MEDIA_ROOT=location)


def import_worker(database_url: str, sources: list[str], repeat: int) -> None:
    """Child process: migrate a fresh database, then `repeat` passes, each the pipeline alone
    over the IARC banks' images and, right after it, a whole import of every `label=path` (into
    new sites and a media folder of their own, so nothing is already in the bank or in storage;
    earlier passes' files stay until the end, as deleting them would slow the disk meanwhile).
    Prints one JSON line."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-import-") as folder:
        setup_django(Path(folder) / "data", database_url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        labelled = [(label, Path(path)) for label, _, path in (s.partition("=") for s in sources)]
        sample = [
            image
            for label, path in labelled
            if label in IARC_BANKS
            for image in source_images(path)
        ]
        pipeline_seconds(sample[:WARM_UP_IMAGES])  # the first decodes are slower: not counted
        passes = []
        for number in range(repeat):
            done = {"pipeline_images": len(sample), "pipeline_seconds": pipeline_seconds(sample)}
            done["imports"] = {}
            for label, path in labelled:
                with media_folder(Path(folder) / f"media-{number}-{label}"):
                    done["imports"][label] = import_source(path, f"bench-{label}-{number}")
            passes.append(done)
        engine = connection.vendor
        connection.close()
    print(IMPORT_MARK + json.dumps({"engine": engine, "passes": passes}), flush=True)


def run_imports(database_url: str, sources: dict[str, Path], repeat: int) -> dict:
    command = [sys.executable, __file__, "--import-worker", database_url, "--repeat", str(repeat)]
    for label, path in sources.items():
        command += ["--source", f"{label}={path}"]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in finished.stdout.splitlines():
        if line.startswith(IMPORT_MARK):
            return json.loads(line[len(IMPORT_MARK) :])
    raise RuntimeError(f"the import process failed:\n{finished.stderr[-4000:]}")


def summarise_pass(done: dict) -> dict:
    imports = done["imports"]
    figures: dict = {}
    if "synthetic" in imports:
        figures["synthetic_images_per_s"] = (
            imports["synthetic"]["images"] / imports["synthetic"]["seconds"]
        )
    banks = {bank: imports[bank] for bank in IARC_BANKS if bank in imports}
    if not banks:
        return figures
    images = sum(bank["images"] for bank in banks.values())
    seconds = sum(bank["seconds"] for bank in banks.values())
    pipeline_rate = done["pipeline_images"] / done["pipeline_seconds"]
    phases: dict[str, float] = {}
    for bank in banks.values():
        for name, spent in bank["phases"].items():
            phases[name] = phases.get(name, 0.0) + spent
    figures.update(
        pipeline_images_per_s=pipeline_rate,
        iarc_images=images,
        iarc_seconds=seconds,
        iarc_images_per_s=images / seconds,
        ratio_to_pipeline=images / seconds / pipeline_rate,
        phases_s=phases,
        banks={
            name: {
                "images": bank["images"],
                "images_per_s": bank["images"] / bank["seconds"],
                "errors": bank["errors"],
            }
            for name, bank in banks.items()
        },
    )
    return figures


def summarise_imports(outcome: dict) -> dict:
    """The median pass by its ratio (of an even number, the lower middle one), with every pass's
    ratio beside it."""
    passes = [summarise_pass(done) for done in outcome["passes"]]
    if "ratio_to_pipeline" not in passes[0]:
        return {"engine": outcome["engine"], **passes[0]}
    ranked = sorted(passes, key=lambda figures: figures["ratio_to_pipeline"])
    median = ranked[(len(ranked) - 1) // 2]
    return {
        "engine": outcome["engine"],
        **median,
        "ratios_of_passes": [figures["ratio_to_pipeline"] for figures in passes],
        "pipeline_images_per_s_of_passes": [figures["pipeline_images_per_s"] for figures in passes],
        "import_images_per_s_of_passes": [figures["iarc_images_per_s"] for figures in passes],
    }


def print_imports(label: str, figures: dict) -> None:
    if "synthetic_images_per_s" in figures:
        print(
            f"{label}: whole import, synthetic case package: "
            f"{figures['synthetic_images_per_s']:.1f} images/s"
        )
    if "iarc_images" not in figures:
        return
    passes = zip(
        figures["ratios_of_passes"],
        figures["import_images_per_s_of_passes"],
        figures["pipeline_images_per_s_of_passes"],
        strict=True,
    )
    print(
        f"{label}: import / pipeline over the IARC sample, pass by pass: "
        + "; ".join(f"{r:.2f} ({i:.1f} / {p:.1f} images/s)" for r, i, p in passes)
        + ". The median pass:"
    )
    print(
        f"{label}: the pipeline alone (files in memory): "
        f"{figures['pipeline_images_per_s']:.1f} images/s"
    )
    for bank, done in figures["banks"].items():
        print(
            f"{label}: whole import, IARC {bank}: {done['images']} images, "
            f"{done['images_per_s']:.1f} images/s, {done['errors']} errors"
        )
    print(
        f"{label}: whole import, IARC sample: {figures['iarc_images']} images in "
        f"{figures['iarc_seconds']:.1f} s = {figures['iarc_images_per_s']:.1f} images/s = "
        f"{figures['ratio_to_pipeline']:.2f} x the pipeline's rate "
        f"(target >= {IMPORT_RATIO_TARGET})"
    )
    seconds = figures["iarc_seconds"]
    for name, spent in figures["phases_s"].items():
        per_image = spent / max(figures["iarc_images"], 1) * 1000
        print(
            f"    {spent:6.2f} s {spent / seconds:4.0%} {per_image:5.1f} ms/image  "
            f"{name}: {PHASES[name]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--size", default="2048x1536")
    parser.add_argument("--iarc", type=Path, default=ROOT.parent / "shared" / "data" / "iarc")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_POSTGRES,
        help="PostgreSQL server (and a database to connect to) for the PostgreSQL import, "
        "or 'none' to skip it",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="passes per engine (the pipeline alone, then the whole imports); the median counts",
    )
    parser.add_argument("--import-worker", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--source", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_worker is not None:
        import_worker(args.import_worker, args.source, args.repeat)
        return
    width, height = (int(v) for v in args.size.split("x"))
    result: dict = {}

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
        print(f"ratio to one decode: {cost / decode:.2f} (target <= {DECODES_TARGET})")
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
        result.update(
            decode_ms=decode * 1000,
            pipeline_ms=cost * 1000,
            pipeline_decodes=cost / decode,
            pipeline_decodes_target=DECODES_TARGET,
            one_by_one_decodes=single / decode,
            peak_rss_mib={"quarter": small / 2**20, "all": large / 2**20},
            pipeline_images_per_s=1 / cost,
        )

        sources = {"synthetic": synthetic_package(Path(folder), images)}
        if args.iarc.exists():
            sources.update({bank: args.iarc / bank for bank in IARC_BANKS})
        else:
            print(f"IARC sample not found at {args.iarc}: whole imports of it skipped")

        engines: dict = {}
        figures = summarise_imports(run_imports("", sources, args.repeat))
        print_imports("SQLite", figures)
        engines["sqlite"] = figures
        why_not = postgres_unavailable(args.database_url)
        if why_not:
            print(f"PostgreSQL: skipped, {why_not}")
            engines["postgresql"] = {"skipped": why_not}
        else:
            with TemporaryPostgres(args.database_url, prefix="bench_ingest") as url:
                figures = summarise_imports(run_imports(url, sources, args.repeat))
            print_imports("PostgreSQL", figures)
            engines["postgresql"] = figures

    ratios = [
        figures["ratio_to_pipeline"]
        for figures in engines.values()
        if figures.get("ratio_to_pipeline") is not None
    ]
    result.update(
        imports=engines,
        import_ratio_target=IMPORT_RATIO_TARGET,
        import_ratio_min=min(ratios) if ratios else None,
        import_ratio_met=bool(ratios) and min(ratios) >= IMPORT_RATIO_TARGET,
        decodes_met=result["pipeline_decodes"] <= DECODES_TARGET,
    )
    print_result(
        result,
        {
            "pipeline_decodes": {"figure": "pipeline_decodes", "max": DECODES_TARGET},
            "import_ratio": {"figure": "import_ratio_min", "min": IMPORT_RATIO_TARGET},
        },
    )


if __name__ == "__main__":
    main()
