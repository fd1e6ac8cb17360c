"""Building a release at scale: seconds and peak memory of the split assignment, the manifest
(CSV and Parquet), the metadata and the whole build of a release of 100,000 images, on PostgreSQL,
at two sizes, to show that memory grows linearly with the images (nothing quadratic).

    .venv/bin/python bench/releases.py [--images 100000] [--small 10000] [--profile 0]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

For each size (--small images, then --images images) a temporary database is created on the
server --database-url names (dropped afterwards; without a server the run is skipped with the
reason) with local file storage in a temporary folder, and three child processes run one after
the other (Django reads its settings once per process, and each process's peak RSS is its own):

- fill: the schema is migrated; 20 sites, a curator and one real template case with three
  processed synthetic images are made through the services; then accepted cases are cloned from
  it with bulk inserts (three images each, so images / 3 cases; subjects shared by 1.3 cases on
  average), with random histopathology, transformation zone and VIA codes (a third of the cases
  without a biopsy). Every image has its own SHA-256 and received SHA-256 (so exact duplicates
  link nothing), a random pHash with the bit frequencies of real ones (bench/near_duplicates.py)
  and 2% planted near-duplicates of an image of another case, and one "focus" check result
  (1% fail: the selection leaves those out). A ReleaseBlob is pre-created for every SHA-256,
  all pointing at ONE stored file, so the build finds every image frozen already and reads no
  image bytes (the bytes are shared; what is measured is the build's own work). A release
  "bench" with version 1.0.0 (the four default labels, stratified by histology_cin2, failed
  focus checks left out), and a release "warm" that takes a site of 30 cases only;
- phases: after a warm-up on "warm" (imports, lazy caches), the parts of the build one by one
  on "bench" 1.0.0, what each gives kept for the next: `plan` (the selection queries and the split
  assignment, with the time inside it of `_assign`, of the duplicate links - exact pairs, the
  fingerprint queries, near_duplicate_pairs - of `group_cases` and of `assign_splits`), the
  split assignment again on its own (`_assign` on the plan's cases), the manifest (the blobs
  looked up, the ReleaseImage rows with their HMAC codes, the frame, the CSV, the Parquet) and
  the metadata (the stats with their check and review queries, the datasheet, the Croissant);
- build: after a warm-up build of "warm", `releases.build_now` of "bench" 1.0.0 end to end (the
  rows written to PostgreSQL included), with the time of its parts.

Each phase: wall seconds, SQL queries and their time, and the growth of peak RSS above the RSS
at the phase's start (the peak is reset before each phase by writing 5 to /proc/self/clear_refs,
so `ru_maxrss` is the phase's own; where that is refused, the growth of ru_maxrss), and that
growth per released image. Targets: the growth per image at --images at most 1.25 times that at
--small, for the whole build and for each phase (memory linear in the rows), and the seconds per
image likewise at most 1.5 times (time linear); a growth under 4 MB (or a phase under 0.05 s)
counts as 4 MB (0.05 s) at either size, as what is left is noise. --profile N prints the build's
N costliest functions (cProfile, by own time) at --images to stderr; it slows that build, so
its time target is then not comparable. Ends with one line `RESULT {json}`.
"""

import argparse
import cProfile
import ctypes
import gc
import hashlib
import io
import json
import os
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager, suppress
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from result import print_result  # noqa: E402 - bench/result.py, beside this script
from scratch_postgres import TemporaryPostgres, postgres_unavailable  # noqa: E402

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
WORKER_MARK = "RELEASEBENCH "
MEMORY_TARGET = 1.25  # growth per image at --images over that at --small
TIME_TARGET = 1.5  # seconds per image at --images over those at --small
NOISE_MB = 4.0  # a phase's peak growth below this counts as this (RSS noise)
NOISE_S = 0.05  # and its seconds likewise
SITES = 20
WARM_CASES = 30
IMAGES_PER_CASE = 3
CASES_PER_SUBJECT = 1.3
NEAR_SHARE = 0.02
FAIL_SHARE = 0.01
BATCH = 5000
STEPS = ("before_acetic_acid", "after_acetic_acid", "after_lugol")
HISTOLOGY = ("normal", "cin1", "cin2", "cin3", "scc", "cervicitis", "hsil")
TZ = ("type_1", "type_2", "type_3")
VIA = ("negative", "positive", "suspicious_for_cancer")
LABELS = ["histology_cin2", "histology_severity", "via_result", "tz_type"]
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # imagebank.models.sites.DISPLAY_CODE_ALPHABET


def setup_django(data_dir: Path, database_url: str) -> None:
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    for name in ("REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    os.environ["DATABASE_URL"] = database_url
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("ACCOUNT_EMAIL_VERIFICATION", "none")
    import django

    django.setup()


# --- memory -------------------------------------------------------------------------------------


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux >= 4.0); False where that is refused."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _settle() -> None:
    """Free what the last phase dropped and hand it back to the OS, so that the next phase's
    growth is its own and not memory it reuses."""
    gc.collect()
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Phases:
    """Each phase's seconds, queries and peak RSS growth; and the time inside it of named parts."""

    def __init__(self) -> None:
        self.figures: dict[str, dict] = {}
        self.parts: dict[str, list[float]] = {}
        self.queries = [0, 0.0]

    def _count_query(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries[0] += 1
            self.queries[1] += time.perf_counter() - started

    @contextmanager
    def phase(self, name: str):
        from django.db import connection

        _settle()
        self.parts = {}
        self.queries = [0, 0.0]
        start_rss = _rss_kb()
        reset = _reset_peak()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        with connection.execute_wrapper(self._count_query):
            yield
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.figures[name] = {
            "s": seconds,
            "queries": self.queries[0],
            "query_s": self.queries[1],
            "peak_growth_mb": (peak - (start_rss if reset else before)) / 1024,
            "rss_after_mb": _rss_kb() / 1024,
            "peak_reset": reset,
            "parts_s": {key: sum(times) for key, times in sorted(self.parts.items())},
            "parts_calls": {key: len(times) for key, times in sorted(self.parts.items())},
        }

    def timed(self, key: str, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.parts.setdefault(key, []).append(time.perf_counter() - started)

        return wrapper

    @contextmanager
    def watching(self, targets: list[tuple[object, str, str]]):
        """Time every call of each (module or class, attribute, key) while inside."""
        saved = [(owner, name, getattr(owner, name)) for owner, name, _key in targets]
        for owner, name, key in targets:
            setattr(owner, name, self.timed(key, getattr(owner, name)))
        try:
            yield
        finally:
            for owner, name, original in saved:
                setattr(owner, name, original)


def build_parts() -> list[tuple[object, str, str]]:
    """The functions of the build whose time is reported, wherever they are looked up from."""
    from curation.releases import clusters, croissant, datasheet, manifest, splits
    from curation.services import release_build

    return [
        (release_build, "plan", "plan"),
        (release_build, "_failed_images", "plan.failed_images"),
        (release_build, "_assign", "plan.assign"),
        (release_build, "_duplicate_links", "plan.assign.duplicate_links"),
        (clusters, "exact_duplicate_pairs", "plan.assign.exact_duplicate_pairs"),
        (clusters, "near_duplicate_pairs", "plan.assign.near_duplicate_pairs"),
        (splits, "group_cases", "plan.assign.group_cases"),
        (splits, "assign_splits", "plan.assign.assign_splits"),
        (release_build, "freeze", "freeze"),
        (release_build, "_blobs_for", "freeze.blobs"),
        (release_build, "_changelog", "freeze.changelog"),
        (release_build, "_stats", "freeze.stats"),
        (manifest, "manifest_frame", "freeze.manifest_frame"),
        (manifest, "write_csv", "freeze.write_csv"),
        (manifest, "write_parquet", "freeze.write_parquet"),
        (datasheet, "datasheet_markdown", "freeze.datasheet"),
        (croissant, "croissant_metadata", "freeze.croissant"),
        (release_build, "_file_blob", "freeze.file_blobs"),
    ]


def bulk_create_part(phases: Phases):
    """QuerySet.bulk_create timed per model (the rows a build writes)."""
    from django.db.models.query import QuerySet

    original = QuerySet.bulk_create

    def bulk_create(self, objs, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, objs, *args, **kwargs)
        finally:
            key = f"freeze.bulk_create.{self.model.__name__}"
            phases.parts.setdefault(key, []).append(time.perf_counter() - started)

    return QuerySet, "bulk_create", bulk_create


@contextmanager
def bulk_create_timed(phases: Phases):
    owner, name, replacement = bulk_create_part(phases)
    original = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, original)


# --- the data -----------------------------------------------------------------------------------


def _clone(instance, **values):
    clone = type(instance)()
    for field in instance._meta.concrete_fields:
        if field.primary_key:
            continue
        setattr(clone, field.attname, getattr(instance, field.attname))
    for name, value in values.items():
        setattr(clone, name, value)
    return clone


def _display_code(n: int) -> str:
    digits = []
    for _ in range(8):
        n, digit = divmod(n, len(CODE_ALPHABET))
        digits.append(CODE_ALPHABET[digit])
    return "".join(reversed(digits))


def _hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Bank:
    """The sites, the curator, the template case the clones copy and the one stored release
    file every blob points at."""

    def __init__(self) -> None:
        from fixtures.synthetic_cervix import render_jpeg
        from imagebank import storage
        from imagebank.models import User
        from imagebank.roles import CURATOR
        from imagebank.services import cases as case_services
        from imagebank.services import images as image_services
        from imagebank.services import sites as site_services
        from imagebank.tasks import process_image

        self.sites = [
            site_services.create_site(
                slug=f"bench-{n}",
                name=f"Clinic {n}",
                country=("KE", "IN", "BR", "CO")[n % 4],
                clinical_setting="district_hospital",
            )
            for n in range(SITES + 1)  # the last one: the warm-up release's site
        ]
        self.contributors = []
        for n, site in enumerate(self.sites):
            user = User.objects.create_user(f"contributor{n}@bench.example", None)
            site_services.add_site_member(site=site, user=user)
            self.contributors.append(user)
        self.curator = User.objects.create_user("curator@bench.example", None)
        site_services.grant_role(user=self.curator, role=CURATOR)
        self.template = case_services.create_case(
            site=self.sites[0],
            actor=self.contributors[0],
            local_patient_id="BENCH-TEMPLATE",
            adequacy="adequate",
            transformation_zone="type_1",
        )
        for order, step in enumerate(STEPS):
            image = image_services.add_image(
                case=self.template,
                actor=self.contributors[0],
                fileobj=io.BytesIO(render_jpeg(step, seed=order, size=(320, 240))),
                filename=f"{step}.jpg",
                step=step,
            )
            process_image(image.pk)
        self.template.refresh_from_db()  # stays a draft: not in any release
        self.images = list(self.template.images.order_by("display_order"))
        data = storage.read_bytes(self.images[0].file.name)
        self.shared = storage.store_bytes(data, "jpg", "releases")
        self.subjects = 0
        self.cases = 0
        self.hashes: list[int] = []  # every image's pHash so far (for planted near-duplicates)
        self.owners: list[int] = []  # the case number of each


def grow(bank: Bank, cases: int, rng: random.Random, sites: list) -> None:
    """Add `cases` accepted cases at `sites`, with their subjects, images, fingerprints, check
    results and release blobs."""
    import numpy as np
    from django.db import transaction
    from django.utils import timezone
    from near_duplicates import random_hashes  # real pHashes' bit frequencies

    from curation.fingerprints import fingerprint_row
    from curation.models import CheckResult, ImageFingerprint, ReleaseBlob
    from imagebank import vocabularies as vocab
    from imagebank.lifecycle import CaseState
    from imagebank.models import Case, Image, Subject

    nprng = np.random.default_rng(rng.randrange(2**32))
    now = timezone.now()
    subjects_wanted = max(1, round(cases / CASES_PER_SUBJECT))
    # Every subject has one case, the rest of the cases go to subjects drawn at random.
    subject_of = list(range(subjects_wanted)) + [
        rng.randrange(subjects_wanted) for _ in range(cases - subjects_wanted)
    ]
    rng.shuffle(subject_of)
    with transaction.atomic():
        subjects = []
        for k in range(subjects_wanted):
            n = bank.subjects + k
            subjects.append(
                Subject(
                    site_id=sites[k % len(sites)].pk,
                    pseudonym=_hex(f"bench-subject:{n}"),
                    display_code=_display_code(n),
                )
            )
        subjects = Subject.objects.bulk_create(subjects, batch_size=BATCH)
    bank.subjects += subjects_wanted
    template_bytes = bank.images[0].byte_size
    contributor_of = {
        site.pk: user.pk for site, user in zip(bank.sites, bank.contributors, strict=True)
    }
    for start in range(0, cases, BATCH):
        size = min(BATCH, cases - start)
        with transaction.atomic():
            rows = []
            for k in range(start, start + size):
                subject = subjects[subject_of[k]]
                histology = rng.choice(HISTOLOGY) if rng.random() < 0.67 else ""
                rows.append(
                    _clone(
                        bank.template,
                        site_id=subject.site_id,
                        subject_id=subject.pk,
                        created_by_id=contributor_of[subject.site_id],
                        state=CaseState.ACCEPTED,
                        submitted_at=now - timedelta(days=rng.randint(0, 700)),
                        exam_year=rng.randint(2015, 2026),
                        histopathology=histology,
                        histopathology_grade=vocab.HISTOPATHOLOGY[histology].grade
                        if histology
                        else "",
                        transformation_zone=rng.choice(TZ),
                        via_result=rng.choice(VIA) if rng.random() < 0.9 else "",
                    )
                )
            made = Case.objects.bulk_create(rows, batch_size=BATCH)
            images = []
            for case in made:
                n_case = bank.cases
                bank.cases += 1
                for template in bank.images:
                    n = len(bank.owners) + len(images)
                    images.append(
                        _clone(
                            template,
                            case_id=case.pk,
                            sha256=_hex(f"bench-image:{n}"),
                            original_sha256=_hex(f"bench-original:{n}"),
                        )
                    )
                    images[-1].bench_case = n_case
            images = Image.objects.bulk_create(images, batch_size=BATCH)
            hashes = [int(h) for h in random_hashes(nprng, len(images))]
            for index, image in enumerate(images):
                if bank.hashes and rng.random() < NEAR_SHARE:
                    # A near-duplicate of an image of an earlier case (another case).
                    other = bank.hashes[rng.randrange(len(bank.hashes))]
                    for bit in rng.sample(range(64), rng.randint(0, 4)):
                        other ^= 1 << bit
                    hashes[index] = other
                bank.hashes.append(hashes[index])
                bank.owners.append(image.bench_case)
            ImageFingerprint.objects.bulk_create(
                [
                    ImageFingerprint(**fingerprint_row(image.pk, phash))
                    for image, phash in zip(images, hashes, strict=True)
                ],
                batch_size=BATCH,
            )
            results = []
            for image in images:
                draw = rng.random()
                verdict = "fail" if draw < FAIL_SHARE else "warn" if draw < 0.06 else "pass"
                results.append(
                    CheckResult(
                        case_id=image.case_id,
                        image_id=image.pk,
                        check_name="focus",
                        version="1",
                        value=rng.random() * 100,
                        threshold=50.0,
                        verdict=verdict,
                    )
                )
            CheckResult.objects.bulk_create(results, batch_size=BATCH)
            ReleaseBlob.objects.bulk_create(
                [
                    ReleaseBlob(
                        sha256=image.sha256,
                        bytes=template_bytes,
                        storage_key=bank.shared.key,
                    )
                    for image in images
                ],
                batch_size=BATCH,
            )


def fill(images: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from curation.services import releases

    call_command("migrate", verbosity=0)
    rng = random.Random(20261201)
    started = time.perf_counter()
    bank = Bank()
    grow(bank, WARM_CASES, rng, bank.sites[SITES:])
    grow(bank, max(1, images // IMAGES_PER_CASE), rng, bank.sites[:SITES])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    for slug, selection in (
        ("warm", {"sites": [bank.sites[SITES].slug], "exclude_failed_checks": ["focus"]}),
        (
            "bench",
            {
                "sites": [site.slug for site in bank.sites[:SITES]],
                "exclude_failed_checks": ["focus"],
            },
        ),
    ):
        release = releases.create_release(slug=slug, title=f"{slug} images", actor=bank.curator)
        releases.define_version(
            release=release,
            actor=bank.curator,
            version="1.0.0",
            description="Synthetic rows for the release bench.",
            licence_name="CC BY-NC 4.0",
            citation="The Cervical Image Bank (bench).",
            selection=selection,
            label_names=LABELS,
            stratify_by=["histology_cin2"],
            seed=20261201,
        )
    return {
        "fill_s": time.perf_counter() - started,
        "cases": bank.cases - WARM_CASES,
        "subjects": bank.subjects,
        "images": len(bank.owners) - WARM_CASES * IMAGES_PER_CASE,
    }


# --- the measures -------------------------------------------------------------------------------


def _version(slug: str):
    from curation.models import ReleaseVersion

    return ReleaseVersion.objects.select_related("release").get(release__slug=slug)


def run_phases(version, phases: Phases) -> dict:
    """The parts of a build, one by one, without writing anything."""
    from curation.releases import croissant, datasheet, manifest
    from curation.services import release_build

    with phases.watching(build_parts()):
        with phases.phase("plan"):
            plan = release_build.plan(version)
        with phases.phase("split_assignment"):
            release_build._assign(plan.cases, version)
        label_names = [d.name for d in plan.label_definitions]
        with phases.phase("manifest"):
            started = time.perf_counter()
            blobs = release_build._blobs_for(plan.cases)
            rows, labels_of = [], {}
            for row, labels in release_build._rows(version, plan.cases, blobs, label_names):
                rows.append(row)
                labels_of[row.image_id] = labels
            rows_s = time.perf_counter() - started
            frame = manifest.manifest_frame(
                (release_build._manifest_row(row, labels_of[row.image_id]) for row in rows),
                label_names,
            )
            csv, parquet = io.BytesIO(), io.BytesIO()
            manifest.write_csv(frame, csv)
            manifest.write_parquet(frame, parquet)
            del frame
        phases.figures["manifest"]["parts_s"]["blobs_and_rows"] = rows_s
        with phases.phase("metadata"):
            stats = release_build._stats(version, plan, rows, [])
            meta = release_build.meta_of(version, plan.label_definitions)
            sheet = datasheet.datasheet_markdown(meta, stats).encode()
            entries = [
                croissant.FileEntry(path, hashlib.sha256(data).hexdigest(), len(data), encoding)
                for path, data, encoding in (
                    ("manifest.csv", csv.getvalue(), "text/csv"),
                    ("manifest.parquet", parquet.getvalue(), "application/x-parquet"),
                    ("datasheet.md", sheet, "text/markdown"),
                )
            ]
            metadata = croissant.croissant_json(
                croissant.croissant_metadata(
                    meta, entries, len(rows), sum(row.bytes for row in rows)
                )
            )
    return {
        "images": len(rows),
        "cases": len(plan.cases),
        "groups": len(plan.groups),
        "linked_pairs": plan.links,
        "left_out": plan.left_out,
        "splits": plan.counts()["splits"],
        "csv_mb": len(csv.getvalue()) / 2**20,
        "parquet_mb": len(parquet.getvalue()) / 2**20,
        "datasheet_kb": len(sheet) / 1024,
        "croissant_kb": len(metadata) / 1024,
    }


def measure_phases() -> dict:
    run_phases(_version("warm"), Phases())
    phases = Phases()
    sizes = run_phases(_version("bench"), phases)
    return {"sizes": sizes, "phases": phases.figures}


def measure_build(profile: int) -> dict:
    from curation.services import releases

    curator = _version("bench").created_by
    releases.build_now(_version("warm"), actor=curator)
    version = _version("bench")
    phases = Phases()
    profiler = cProfile.Profile() if profile else None
    with ExitStack() as stack:
        stack.enter_context(phases.watching(build_parts()))
        stack.enter_context(bulk_create_timed(phases))
        stack.enter_context(phases.phase("build"))
        if profiler:
            profiler.enable()
        built = releases.build_now(version, actor=curator)
        if profiler:
            profiler.disable()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(profile)
        print(out.getvalue(), file=sys.stderr, flush=True)
    return {
        "build": phases.figures["build"],
        "state": built.state,
        "image_count": built.image_count,
    }


def worker(task: str, database_url: str, data_dir: str, images: int, profile: int) -> None:
    setup_django(Path(data_dir), database_url)
    from django.db import connection

    if task == "fill":
        figures = fill(images)
    elif task == "phases":
        figures = measure_phases()
    else:
        figures = measure_build(profile)
    connection.close()
    print(WORKER_MARK + json.dumps(figures), flush=True)


def run_worker(task: str, url: str, data_dir: str, images: int, profile: int = 0) -> dict:
    command = [
        sys.executable, __file__, "--worker", task, "--worker-url", url,
        "--worker-data", data_dir, "--images", str(images), "--profile", str(profile),
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if profile and finished.stderr:
        print(finished.stderr, file=sys.stderr, flush=True)
    for line in finished.stdout.splitlines():
        if line.startswith(WORKER_MARK):
            return json.loads(line[len(WORKER_MARK) :])
    raise RuntimeError(f"the bench process ({task}) failed:\n{finished.stderr[-4000:]}")


def one_size(server: str, images: int, profile: int) -> dict:
    with (
        TemporaryPostgres(server, prefix="bench_release") as url,
        tempfile.TemporaryDirectory(prefix="bench-release-") as folder,
    ):
        data_dir = str(Path(folder) / "data")
        filled = run_worker("fill", url, data_dir, images)
        measured = run_worker("phases", url, data_dir, images)
        built = run_worker("build", url, data_dir, images, profile)
    return {"fill": filled, **measured, **built}


# --- the figures --------------------------------------------------------------------------------

PHASES = ("plan", "split_assignment", "manifest", "metadata", "build")


def _phase_figures(raw: dict, name: str) -> dict:
    return raw["build"] if name == "build" else raw["phases"][name]


def _ratio(large: float, small: float, scale: float, noise: float) -> float:
    """Large over small scaled to the large size (the figure per image at --images over that at
    --small), each at least `noise` before scaling: below it a phase's growth is pages and
    allocator arenas, not rows, and scaling such a figure up by ten would only scale the noise."""
    return max(large, noise) / (max(small, noise) * scale)


def summary(small: dict, large: dict) -> dict:
    figures: dict = {
        "engine": "postgresql",
        "images": large["sizes"]["images"],
        "small_images": small["sizes"]["images"],
        "cases": large["sizes"]["cases"],
        "subjects": large["fill"]["subjects"],
        "groups": large["sizes"]["groups"],
        "linked_pairs": large["sizes"]["linked_pairs"],
        "left_out": large["sizes"]["left_out"],
        "splits": large["sizes"]["splits"],
        "files": {
            key: large["sizes"][key]
            for key in ("csv_mb", "parquet_mb", "datasheet_kb", "croissant_kb")
        },
        "fill_s": {"small": small["fill"]["fill_s"], "large": large["fill"]["fill_s"]},
        "built": int(
            large["state"] == "built" and large["image_count"] == large["sizes"]["images"]
        ),
        "peak_reset": large["build"]["peak_reset"],
    }
    for name in PHASES:
        at_small, at_large = _phase_figures(small, name), _phase_figures(large, name)
        n_small, n_large = small["sizes"]["images"], large["sizes"]["images"]
        scale = n_large / n_small
        kb_small = at_small["peak_growth_mb"] * 1024 / n_small
        kb_large = at_large["peak_growth_mb"] * 1024 / n_large
        us_small = at_small["s"] * 1e6 / n_small
        us_large = at_large["s"] * 1e6 / n_large
        figures[name] = {
            "s": {"small": at_small["s"], "large": at_large["s"]},
            "peak_growth_mb": {
                "small": at_small["peak_growth_mb"],
                "large": at_large["peak_growth_mb"],
            },
            "kb_per_image": {"small": kb_small, "large": kb_large},
            "memory_ratio": _ratio(
                at_large["peak_growth_mb"], at_small["peak_growth_mb"], scale, NOISE_MB
            ),
            "us_per_image": {"small": us_small, "large": us_large},
            "time_ratio": _ratio(at_large["s"], at_small["s"], scale, NOISE_S),
            "queries": {"small": at_small["queries"], "large": at_large["queries"]},
            "query_s": {"small": at_small["query_s"], "large": at_large["query_s"]},
            "parts_s": {
                key: {"small": at_small["parts_s"].get(key), "large": seconds}
                for key, seconds in at_large["parts_s"].items()
            },
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--profile", type=int, default=0, help="print the build's N costliest")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES,
        help="the PostgreSQL server to create the temporary databases on",
    )
    parser.add_argument("--worker", choices=("fill", "phases", "build"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-url", help=argparse.SUPPRESS)
    parser.add_argument("--worker-data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.worker_url, args.worker_data, args.images, args.profile)
        return
    targets = {
        "built": {"figure": "built", "min": 1},
        **{
            f"{name}_memory_linear": {"figure": f"{name}.memory_ratio", "max": MEMORY_TARGET}
            for name in PHASES
        },
        **{
            f"{name}_time_linear": {"figure": f"{name}.time_ratio", "max": TIME_TARGET}
            for name in PHASES
        },
    }
    why = postgres_unavailable(args.database_url)
    if why:
        figures = {"skipped": f"PostgreSQL: {why}"}
    else:
        started = time.perf_counter()
        small = one_size(args.database_url, args.small, 0)
        large = one_size(args.database_url, args.images, args.profile)
        figures = summary(small, large)
        figures["total_s"] = time.perf_counter() - started
    print_result(figures, targets)


if __name__ == "__main__":
    main()
