"""A small published release for the benchmark's tests: 30 accepted synthetic cases (three
images each, 96 × 72, histology half CIN2+), with cervix masks on every after-acetic-acid image
and lesion masks on those of lesion cases, built and published with its splits."""

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from curation.models import Mask
from curation.services import releases
from fixtures.synthetic_cervix import cervix_mask, lesion_mask, render_jpeg
from imagebank import storage
from imagebank.lifecycle import CaseState
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.tasks import process_image
from model_bench.services.benchmark_tasks import create_task
from tests.access_requests.test_requests import add_member, approved_request, make_group
from tests.factories import (
    UserFactory,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role

HISTOLOGY = ("normal", "cin3", "cin1", "cin2", "normal", "scc")
SIZE = (96, 72)
STEPS = ("before_acetic_acid", "after_acetic_acid", "after_lugol")


def store_mask(image, kind: str, mask: np.ndarray) -> Mask:
    buffer = io.BytesIO()
    PILImage.fromarray(mask.astype(np.uint8) * 255, mode="L").save(buffer, format="PNG")
    stored = storage.store_bytes(buffer.getvalue(), "png", prefix="masks")
    return Mask.objects.create(
        image=image, kind=kind, storage_key=stored.key, sha256=stored.sha256,
        width=mask.shape[1], height=mask.shape[0], foreground_pixels=int(mask.sum()),
        source_name=f"{image.pk}.png", source_width=mask.shape[1], source_height=mask.shape[0],
    )  # fmt: skip


def accept(case):
    for state in (CaseState.SUBMITTED, CaseState.QUALITY_CHECKS, CaseState.IN_REVIEW,
                  CaseState.ACCEPTED):  # fmt: skip
        case = case_services.transition_case(case=case, to_state=state)
    return case


@pytest.fixture
def curator():
    return make_user_with_role(Role.CURATOR)


@pytest.fixture
def bench_release(db, curator, local_storage):
    return make_bench_release(curator)


def make_bench_release(curator):
    site = make_site("bench")
    contributor = make_contributor(site)
    for n in range(30):
        histology = HISTOLOGY[n % len(HISTOLOGY)]
        lesion = histology in ("cin2", "cin3", "scc")
        case = make_case(site=site, actor=contributor, local_patient_id=f"P-{n:03d}",
                         histopathology=histology, transformation_zone="type_1")  # fmt: skip
        for order, step in enumerate(STEPS):
            image = image_services.add_image(
                case=case, actor=contributor, filename=f"IMG_{n}_{order}.jpg", step=step,
                fileobj=io.BytesIO(render_jpeg(step, seed=n, size=SIZE, lesion=lesion)),
            )  # fmt: skip
            process_image(image.pk)
            if step == "after_acetic_acid":
                store_mask(image, "cervix", cervix_mask(n, size=SIZE, step=step))
                if lesion:
                    store_mask(image, "lesion", lesion_mask(n, size=SIZE, step=step))
        accept(case)
    release = releases.create_release(slug="bench", title="Benchmark test", actor=curator)
    version = releases.define_version(
        release=release, actor=curator, version="1.0.0", description="Synthetic.",
        licence_name="CC BY-NC 4.0", citation="The bank.", seed=5,
        label_names=["histology_cin2", "histology_severity", "tz_type"],
        fractions=(0.6, 0.1, 0.3),
    )  # fmt: skip
    return releases.publish(releases.build_now(version, actor=curator), actor=curator)


@pytest.fixture
def cin2_task(bench_release, curator):
    """An image-classification task (CIN2+ by histology, after acetic acid, 32 px)."""
    return create_task(slug="cin2", version=bench_release, kind="image-classification",
                       label="histology_cin2", actor=curator, steps=["after_acetic_acid"],
                       image_size=32)  # fmt: skip


@pytest.fixture
def seg_task(bench_release, curator):
    """A segmentation task on the same version (cervix masks, 32 px)."""
    return create_task(slug="cervix-seg", version=bench_release, kind="segmentation",
                       label="cervix", actor=curator, steps=["after_acetic_acid"],
                       image_size=32)  # fmt: skip


@pytest.fixture
def granted(bench_release):
    """A group with a live grant on the benchmark version naming `accessor`; a member not
    named."""
    accessor = UserFactory()
    group = make_group()
    add_member(group, accessor)
    member = add_member(group)
    request = approved_request(group=group, requester=accessor, releases=[bench_release],
                               accessors=[accessor])  # fmt: skip
    return {"accessor": accessor, "member": member, "group": group, "grant": request.grant}
