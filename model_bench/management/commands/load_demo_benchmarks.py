"""`manage.py load_demo_benchmarks`: the benchmark part of the demo bank, run after `load_demo`.

The eight demo cases cannot make a release worth benchmarking on (three are accepted), so this adds
24 accepted synthetic examinations at the Kisumu demo site, half with a lesion and histology CIN2
or worse, each after-acetic-acid image with its cervix mask and, on lesion cases, its lesion mask
(the renderer's own ground truth). Then the demo curator defines, builds and publishes the release
`demo-benchmark@1.0.0`, and creates one benchmark task of each kind on it.

It lives here, not in imagebank's `load_demo`, because imagebank may not import curation or
model_bench. Everything goes through the services except the mask rows: the only mask service
imports PNG folders, and these masks are generated, not read from files. Running it again creates
nothing new: cases are found by pseudonym, masks by (image, kind), the release, its version and the
tasks by slug; a version left unbuilt or unpublished by an interrupted run is built and published.
"""

import io
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from curation.models import Mask, Release, ReleaseState, ReleaseVersion
from curation.outlines import mask_png
from curation.services import releases
from fixtures.demo_catalogue import CASES, USERS, demo_email
from fixtures.synthetic_cervix import cervix_mask, lesion_mask, sequence
from imagebank import storage
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image, ProcessingStatus, Site, User
from imagebank.pseudonyms import pseudonym_for
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.tasks import process_image, run_quality_checks
from model_bench.models import BenchmarkTask, TaskKind
from model_bench.services.benchmark_tasks import create_task

SITE = "kisumu-dh"
CONTRIBUTOR = "contributor"
REVIEWER = "reviewer"
CURATOR = "curator"
# The long side must reach the resolution check's fail limit (480), or every image would be
# flagged on the review screen; 512 × 384 keeps rendering and training inputs small.
SIZE = (512, 384)
CASE_COUNT = 24
# Seeds apart from the catalogue's (11-18), so no benchmark cervix looks like a demo case's.
FIRST_SEED = 101
# Half CIN2 or worse, so both classes of histology_cin2 and histology_severity have cases; these
# are the lesion cases. Cycles through the grades so every split gets each.
HISTOLOGY = ("normal", "cin3", "cin1", "cin2", "benign", "scc")
TZ_TYPES = ("type_1", "type_2", "type_3")
MASKED_STEP = "after_acetic_acid"

RELEASE_SLUG = "demo-benchmark"
VERSION = "1.0.0"
LABELS = ["histology_cin2", "histology_severity", "tz_type"]
# A larger test split than the default, so the bootstrap intervals rest on a few cases more.
FRACTIONS = (0.6, 0.15, 0.25)
SPLIT_SEED = 2026


@dataclass(frozen=True)
class DemoTask:
    slug: str
    kind: str
    label: str
    title: str
    description: str
    steps: tuple[str, ...] = ()


TASKS = (
    DemoTask(
        "demo-cin2-images",
        TaskKind.IMAGE_CLASSIFICATION,
        "histology_cin2",
        "CIN2+ from one image (demo)",
        "Each after-acetic-acid image: histology CIN2 or worse versus below CIN2.",
        steps=(MASKED_STEP,),
    ),
    DemoTask(
        "demo-severity-cases",
        TaskKind.CASE_CLASSIFICATION,
        "histology_severity",
        "Severity from the whole examination (demo)",
        'All of a case\'s images: "mildly normal" (normal, LSIL) versus "severe" (HSIL, cancer), '
        "as in the Bengbu colposcopy study.",
    ),
    DemoTask(
        "demo-lesion-segmentation",
        TaskKind.SEGMENTATION,
        "lesion",
        "Lesion outline (demo)",
        "The lesion's outline on after-acetic-acid images, scored by Dice.",
        steps=(MASKED_STEP,),
    ),
)
DEMO_IMAGE_SIZE = 64


@dataclass(frozen=True)
class BenchCase:
    local_patient_id: str  # made up; only its pseudonym is stored
    seed: int
    histopathology: str
    transformation_zone: str

    @property
    def lesion(self) -> bool:
        return self.histopathology in ("cin2", "cin3", "scc")

    @property
    def metadata(self) -> dict[str, Any]:
        return {
            "age_at_exam": 28 + self.seed % 27,
            "exam_year": 2026,
            "screening_context": "screen_positive_triage" if self.lesion else "primary_screening",
            "adequacy": "adequate",
            "transformation_zone": self.transformation_zone,
            "via_result": "positive" if self.lesion else "negative",
            "provisional_diagnosis": "hsil" if self.lesion else "normal",
            "histopathology": self.histopathology,
        }


BENCH_CASES = tuple(
    BenchCase(
        local_patient_id=f"KDH-BENCH-{n + 1:03d}",
        seed=FIRST_SEED + n,
        histopathology=HISTOLOGY[n % len(HISTOLOGY)],
        transformation_zone=TZ_TYPES[n % len(TZ_TYPES)],
    )
    for n in range(CASE_COUNT)
)


def store_mask(image: Image, kind: str, mask: np.ndarray) -> Mask:
    """One generated mask, stored as curation.services.masks stores an imported one: a 0/255
    PNG under its hash, at the image's own size."""
    stored = storage.store_bytes(mask_png(mask), "png", prefix="masks")
    return Mask.objects.create(
        image=image,
        kind=kind,
        storage_key=stored.key,
        sha256=stored.sha256,
        width=mask.shape[1],
        height=mask.shape[0],
        foreground_pixels=int(mask.sum()),
        source_name=f"synthetic-{kind}-{image.pk}.png",
        source_width=mask.shape[1],
        source_height=mask.shape[0],
    )


class Command(BaseCommand):
    help = (
        "Add the benchmark demo (after load_demo): accepted synthetic cases with masks, the "
        "published release demo-benchmark@1.0.0 and one benchmark task of each kind. Safe to run "
        "again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        created: Counter[str] = Counter()
        users = self._demo_users()
        site = Site.objects.filter(slug=SITE).first()
        if site is None:
            raise CommandError(f"The demo site {SITE} is missing: run `manage.py load_demo` first.")

        for spec in BENCH_CASES:
            self._case(spec, site, users[CONTRIBUTOR], users[REVIEWER], created)
        self._masks(created)
        version = self._release(users[CURATOR], created)
        for spec in TASKS:
            self._task(spec, version, users[CURATOR], created)

        elapsed = time.monotonic() - started
        if created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created {created['case']} accepted cases, {created['image']} images, "
                    f"{created['mask']} masks, {created['release']} published release and "
                    f"{created['task']} benchmark tasks in {elapsed:.1f} s."
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS("Benchmark demo already present: nothing created.")
            )
        self._print_summary(version)

    def _demo_users(self) -> dict[str, User]:
        wanted = {spec.local_part for spec in USERS} & {CONTRIBUTOR, REVIEWER, CURATOR}
        users = {name: User.objects.filter(email=demo_email(name)).first() for name in wanted}
        missing = sorted(name for name, user in users.items() if user is None)
        if missing:
            raise CommandError(
                f"Demo users missing ({', '.join(missing)}): run `manage.py load_demo` first."
            )
        return users

    def _case(
        self, spec: BenchCase, site: Site, contributor: User, reviewer: User, created: Counter
    ) -> None:
        pseudonym = pseudonym_for(site.slug, spec.local_patient_id)
        if Case.objects.filter(site=site, subject__pseudonym=pseudonym).exists():
            return
        jpegs = sequence(spec.seed, size=SIZE, lesion=spec.lesion)
        # One transaction per case: an interrupted run leaves whole cases only, and the next run
        # finds the missing ones by pseudonym.
        with transaction.atomic():
            case = case_services.create_case(
                site=site,
                actor=contributor,
                local_patient_id=spec.local_patient_id,
                source_reference=f"Benchmark demo, case {spec.seed - FIRST_SEED + 1:03d}",
                **spec.metadata,
            )
            for order, (step, jpeg) in enumerate(jpegs, start=1):
                image = image_services.add_image(
                    case=case,
                    actor=contributor,
                    fileobj=io.BytesIO(jpeg),
                    filename=f"IMG_{spec.seed:03d}{order}.jpg",
                    step=step,
                    capture_device=site.devices[0] if site.devices else "",
                )
                process_image(image.pk)
                created["image"] += 1
            failed = case.images.exclude(processing_status=ProcessingStatus.DONE).count()
            if failed:
                raise CommandError(f"{failed} images of {spec.local_patient_id} failed.")
            case_services.submit_case(case=case, actor=contributor)
            run_quality_checks(case.pk)
            case.refresh_from_db()
            if case.state != CaseState.IN_REVIEW:
                raise CommandError(
                    f"The quality checks left {spec.local_patient_id} in {case.state}."
                )
            case_services.transition_case(
                case=case,
                to_state=CaseState.ACCEPTED,
                actor=reviewer,
                reason="Synthetic benchmark case; sequence and findings confirmed.",
            )
        created["case"] += 1

    def _masks(self, created: Counter) -> None:
        """Ground-truth masks on the after-acetic-acid images of every accepted synthetic case,
        the catalogue's included (they are in the release too), where missing."""
        synthetic = [
            (spec.seed, spec.lesion, spec.site, spec.local_patient_id)
            for spec in CASES
            if spec.state == CaseState.ACCEPTED
        ] + [(spec.seed, spec.lesion, SITE, spec.local_patient_id) for spec in BENCH_CASES]
        for seed, lesion, site_slug, local_patient_id in synthetic:
            images = Image.objects.filter(
                case__site__slug=site_slug,
                case__subject__pseudonym=pseudonym_for(site_slug, local_patient_id),
                case__state=CaseState.ACCEPTED,
                step=MASKED_STEP,
            )
            for image in images:
                kinds = ["cervix", "lesion"] if lesion else ["cervix"]
                have = set(image.masks.values_list("kind", flat=True))
                for kind in kinds:
                    if kind in have:
                        continue
                    draw = cervix_mask if kind == "cervix" else lesion_mask
                    # The upright picture's size, which a mask must have.
                    size = (image.width, image.height)
                    with transaction.atomic():
                        store_mask(image, kind, draw(seed, size=size, step=MASKED_STEP))
                    created["mask"] += 1

    def _release(self, curator: User, created: Counter) -> ReleaseVersion:
        release = Release.objects.filter(slug=RELEASE_SLUG).first()
        if release is None:
            release = releases.create_release(
                slug=RELEASE_SLUG, title="Demo benchmark release", actor=curator
            )
        version = ReleaseVersion.objects.filter(release=release, version=VERSION).first()
        if version is None:
            version = releases.define_version(
                release=release,
                actor=curator,
                version=VERSION,
                description=(
                    "The demo bank's accepted synthetic examinations, with cervix and lesion "
                    "masks, for the benchmark demo. Not clinical data."
                ),
                licence_name="CC BY-NC 4.0",
                citation="Cervical Image Bank demo (synthetic images).",
                label_names=LABELS,
                fractions=FRACTIONS,
                seed=SPLIT_SEED,
            )
        if version.state == ReleaseState.PUBLISHED:
            return version
        if version.state in (ReleaseState.QUEUED, ReleaseState.BUILDING):
            raise CommandError(
                f"{RELEASE_SLUG}@{VERSION} is being built by a worker; run this again when it is."
            )
        if version.state != ReleaseState.BUILT:
            version = releases.build_now(version, actor=curator)
            if version is None or version.state != ReleaseState.BUILT:
                reason = version.build_error if version else "the version vanished"
                raise CommandError(f"Building {RELEASE_SLUG}@{VERSION} failed: {reason}")
        version = releases.publish(version, actor=curator)
        created["release"] += 1
        return version

    def _task(self, spec: DemoTask, version: ReleaseVersion, curator: User, created) -> None:
        if BenchmarkTask.objects.filter(slug=spec.slug).exists():
            return
        create_task(
            slug=spec.slug,
            version=version,
            kind=spec.kind,
            label=spec.label,
            actor=curator,
            title=spec.title,
            description=spec.description,
            steps=list(spec.steps),
            image_size=DEMO_IMAGE_SIZE,
        )
        created["task"] += 1

    def _print_summary(self, version: ReleaseVersion) -> None:
        splits = Counter(version.images.values_list("split", flat=True))
        self.stdout.write(
            f"Release {version.release.slug}@{version.version}: "
            + ", ".join(f"{splits[name]} {name}" for name in ("train", "validation", "test"))
            + " images."
        )
        for task in BenchmarkTask.objects.filter(slug__in=[spec.slug for spec in TASKS]):
            self.stdout.write(
                f"Task {task.slug}: {task.get_kind_display()} of {task.label} "
                f"({', '.join(task.classes)}), primary metric {task.primary_metric}."
            )
        self.stdout.write(
            "Try: python manage.py run_benchmark demo-cin2-images --models baseline,repvgg "
            "--epochs 2"
        )
