"""`manage.py load_demo`: the demo bank that `make demo` starts with.

Everything is created through the services, as a contributor and a reviewer would: three sites, one
user per role, and eight cases with synthetic image sequences in several lifecycle states. Running
it again creates nothing new: users are found by email, sites by slug and cases by the pseudonym of
their made-up local patient ID. The image processing and the quality checks that a Celery worker
would run later are run here directly, because the worker may not be up yet; the queued copies
find the work done and skip.
"""

import functools
import io
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from fixtures.synthetic_cervix import Artefacts, sequence
from imagebank.lifecycle import CaseState
from imagebank.models import Case, ProcessingStatus, Site, User
from imagebank.pseudonyms import pseudonym_for
from imagebank.roles import Role, ensure_role_groups
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.services import sites as site_services
from imagebank.tasks import process_image, run_quality_checks

# Deliberately not read from settings: the README and the sign-in page can quote it.
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - a published demo credential
DEMO_DOMAIN = "demo.cervical-image-bank.org"


def demo_email(local_part: str) -> str:
    return f"{local_part}@{DEMO_DOMAIN}"


@dataclass(frozen=True)
class DemoSite:
    slug: str
    name: str
    country: str
    clinical_setting: str
    devices: tuple[str, ...]


@dataclass(frozen=True)
class DemoUser:
    local_part: str
    full_name: str
    description: str
    roles: tuple[Role, ...] = ()
    site: str = ""
    superuser: bool = False

    @property
    def email(self) -> str:
        return demo_email(self.local_part)


@dataclass(frozen=True)
class DemoCase:
    site: str
    local_patient_id: str  # made up; only its pseudonym is stored
    state: CaseState
    seed: int
    lesion: bool
    metadata: dict[str, Any]
    artefacts: Artefacts = field(default_factory=Artefacts)
    reason: str = ""


SITES = (
    DemoSite(
        slug="kisumu-dh",
        name="Kisumu District Hospital (demo)",
        country="KE",
        clinical_setting="district_hospital",
        devices=("MobileODT EVA colposcope", "Leisegang 1DS optical colposcope"),
    ),
    DemoSite(
        slug="tamil-nadu-screening",
        name="Tamil Nadu Cervical Screening Programme (demo)",
        country="IN",
        clinical_setting="screening_programme",
        devices=("Smartphone camera (Samsung Galaxy M34)", "Magnivisualizer 2x"),
    ),
    DemoSite(
        slug="lusaka-referral",
        name="Lusaka Referral Hospital (demo)",
        country="ZM",
        clinical_setting="referral_hospital",
        devices=("Zeiss OPMI pico colposcope with digital camera",),
    ),
)

USERS = (
    DemoUser("contributor", "Achieng Otieno", "contributor, Kisumu", site="kisumu-dh"),
    DemoUser("contributor2", "Priya Raman", "contributor, Tamil Nadu", site="tamil-nadu-screening"),
    DemoUser("contributor3", "Mwila Banda", "contributor, Lusaka", site="lusaka-referral"),
    DemoUser("reviewer", "Dr Amina Diallo", "reviewer", roles=(Role.REVIEWER,)),
    DemoUser("curator", "Dr Lucía Fernández", "curator (sets up 2FA)", roles=(Role.CURATOR,)),
    DemoUser(
        "committee",
        "Prof. Kwame Mensah",
        "access committee (sets up 2FA)",
        roles=(Role.ACCESS_COMMITTEE,),
    ),
    DemoUser("researcher", "Dr Wei Zhang", "researcher", roles=(Role.RESEARCHER,)),
    DemoUser("admin", "Bank Administrator", "superuser (/admin/)", superuser=True),
)

_NORMAL_SWEDE = {
    "swede_aceto_uptake": "nil_or_transparent",
    "swede_margins": "nil_or_diffuse",
    "swede_vessels": "fine_regular",
    "swede_lesion_size": "lt_5mm",
}

CASES = (
    # A normal screening examination: VIA negative, TZ type 1, Swede 0.
    DemoCase(
        site="kisumu-dh",
        local_patient_id="KDH-2026-0001",
        state=CaseState.ACCEPTED,
        seed=11,
        lesion=False,
        reason="Good sequence; normal findings confirmed.",
        metadata={
            "age_at_exam": 34,
            "exam_year": 2026,
            "screening_context": "primary_screening",
            "hpv_result": "not_done",
            "cytology": "not_done",
            "adequacy": "adequate",
            "scj_visibility": "completely_visible",
            "scj_location": "ectocervix",
            "transformation_zone": "type_1",
            "normal_findings": ["squamous_mature", "metaplastic_nabothian_cysts"],
            **_NORMAL_SWEDE,
            "swede_iodine_uptake": "brown",
            "via_result": "negative",
            "provisional_diagnosis": "normal",
            "management": "routine_screening",
            "management_text": "Routine screening after 5 years",
            "histopathology": "not_done",
        },
    ),
    # Looks low grade: grade 1 findings, Swede 4, treated by ablation.
    DemoCase(
        site="kisumu-dh",
        local_patient_id="KDH-2026-0002",
        state=CaseState.IN_REVIEW,
        seed=12,
        lesion=True,
        artefacts=Artefacts(glare=0.5),
        metadata={
            "age_at_exam": 29,
            "exam_year": 2026,
            "screening_context": "screen_positive_triage",
            "hpv_result": "positive",
            "cytology": "not_done",
            "adequacy": "adequate",
            "scj_visibility": "completely_visible",
            "scj_location": "ectocervix",
            "transformation_zone": "type_1",
            "grade_1_findings": ["thin_acetowhite", "irregular_border", "fine_mosaic"],
            "lesion_location": "inside_tz",
            "lesion_clock_positions": [2, 3],
            "lesion_quadrants": 1,
            "lesion_extent": "lt_25",
            "swede_aceto_uptake": "shady_milky",
            "swede_margins": "sharp_irregular",
            "swede_vessels": "fine_regular",
            "swede_lesion_size": "5_15mm",
            "swede_iodine_uptake": "faint_or_patchy_yellow",
            "via_result": "positive",
            "ablation_eligibility": "eligible",
            "provisional_diagnosis": "lsil",
            "management": "ablation",
            "management_text": "Thermal ablation at the same visit",
            "histopathology": "not_done",
        },
    ),
    # Still being written by the contributor; the photographs are blurred and under-exposed.
    DemoCase(
        site="kisumu-dh",
        local_patient_id="KDH-2026-0003",
        state=CaseState.DRAFT,
        seed=13,
        lesion=True,
        artefacts=Artefacts(blur=2.5, exposure=-0.4),
        metadata={
            "age_at_exam": 41,
            "exam_year": 2026,
            "screening_context": "primary_screening",
            "adequacy": "adequate",
            "transformation_zone": "type_1",
            "grade_1_findings": ["thin_acetowhite"],
            "via_result": "positive",
            "notes": "Findings to be completed after the images are reviewed.",
        },
    ),
    # Looks high grade: grade 2 findings, Swede 8, excised, CIN2 on histology.
    DemoCase(
        site="tamil-nadu-screening",
        local_patient_id="TNSP-2026-0001",
        state=CaseState.ACCEPTED,
        seed=21,
        lesion=True,
        reason="High-grade features clearly visible after acetic acid.",
        metadata={
            "age_at_exam": 38,
            "exam_year": 2025,
            "screening_context": "screen_positive_triage",
            "hpv_result": "hpv16_18_positive",
            "cytology": "not_done",
            "adequacy": "adequate",
            "scj_visibility": "completely_visible",
            "scj_location": "ecto_and_endocervix",
            "transformation_zone": "type_2",
            "grade_2_findings": [
                "dense_acetowhite",
                "coarse_mosaic",
                "sharp_border",
                "inner_border_sign",
            ],
            "lesion_location": "inside_tz",
            "lesion_clock_positions": [11, 12, 1, 2],
            "lesion_quadrants": 2,
            "lesion_extent": "25_50",
            "swede_aceto_uptake": "distinct_stearin",
            "swede_margins": "sharp_irregular",
            "swede_vessels": "coarse_or_atypical",
            "swede_lesion_size": "5_15mm",
            "swede_iodine_uptake": "distinct_yellow",
            "via_result": "positive",
            "ablation_eligibility": "not_eligible",
            "provisional_diagnosis": "hsil",
            "provisional_diagnosis_text": "HSIL (CIN2+)",
            "management": "excision",
            "management_text": "LLETZ",
            "histopathology": "cin2",
        },
    ),
    # TZ type 3 and bleeding: an inadequate examination, returned to the contributor.
    DemoCase(
        site="tamil-nadu-screening",
        local_patient_id="TNSP-2026-0002",
        state=CaseState.RETURNED,
        seed=22,
        lesion=False,
        artefacts=Artefacts(blood=0.7),
        reason=(
            "Bleeding hides the transformation zone in every image. Please confirm whether an "
            "after-Lugol image without blood exists, and give the reason for inadequacy."
        ),
        metadata={
            "age_at_exam": 52,
            "exam_year": 2025,
            "screening_context": "primary_screening",
            "hpv_result": "positive",
            "adequacy": "inadequate",
            "inadequacy_reason": "bleeding",
            "scj_visibility": "not_visible",
            "scj_location": "endocervix",
            "transformation_zone": "type_3",
            "swede_not_assessable": True,
            "via_result": "negative",
            "ablation_eligibility": "not_eligible",
            "provisional_diagnosis": "other",
            "provisional_diagnosis_text": "Inadequate colposcopy, type 3 transformation zone",
            "management": "referral",
            "management_text": "Referral for endocervical sampling",
            "histopathology": "not_done",
        },
    ),
    # Cervicitis, photographed over-exposed; handed on to review by the quality checks.
    DemoCase(
        site="tamil-nadu-screening",
        local_patient_id="TNSP-2026-0003",
        state=CaseState.IN_REVIEW,
        seed=23,
        lesion=False,
        artefacts=Artefacts(exposure=0.5),
        metadata={
            "age_at_exam": 27,
            "exam_year": 2026,
            "screening_context": "symptomatic",
            "hpv_result": "negative",
            "adequacy": "adequate",
            "scj_visibility": "completely_visible",
            "scj_location": "ectocervix",
            "transformation_zone": "type_1",
            "non_specific_findings": ["erosion"],
            "miscellaneous_findings": ["inflammation"],
            "via_result": "negative",
            "provisional_diagnosis": "inflammation",
            "management": "other",
            "management_text": "Syndromic treatment of cervicitis; rescreen in 3 years",
            "histopathology": "not_done",
        },
    ),
    # Suspicious for invasion: Swede 10, squamous cell carcinoma on histology.
    DemoCase(
        site="lusaka-referral",
        local_patient_id="LRH-2026-0001",
        state=CaseState.ACCEPTED,
        seed=31,
        lesion=True,
        artefacts=Artefacts(blood=0.35),
        reason="Typical invasive features; histology confirms.",
        metadata={
            "age_at_exam": 47,
            "exam_year": 2025,
            "screening_context": "symptomatic",
            "hpv_result": "hpv16_18_positive",
            "cytology": "scc",
            "adequacy": "adequate",
            "scj_visibility": "not_visible",
            "scj_location": "endocervix",
            "transformation_zone": "type_3",
            "grade_2_findings": ["dense_acetowhite"],
            "suspicious_for_invasion_findings": [
                "atypical_vessels",
                "fragile_vessels",
                "irregular_surface",
                "exophytic_lesion",
            ],
            "lesion_location": "inside_and_outside_tz",
            "lesion_clock_positions": list(range(1, 13)),
            "lesion_quadrants": 4,
            "lesion_extent": "gt_75",
            "swede_aceto_uptake": "distinct_stearin",
            "swede_margins": "sharp_even",
            "swede_vessels": "coarse_or_atypical",
            "swede_lesion_size": "gt_15mm",
            "swede_iodine_uptake": "distinct_yellow",
            "via_result": "suspicious_for_cancer",
            "ablation_eligibility": "not_eligible",
            "provisional_diagnosis": "invasive_cancer",
            "management": "referral",
            "management_text": "Referred to gynaecological oncology",
            "histopathology": "scc",
        },
    ),
    # Post-treatment follow-up, every photograph out of focus: rejected.
    DemoCase(
        site="lusaka-referral",
        local_patient_id="LRH-2026-0002",
        state=CaseState.REJECTED,
        seed=32,
        lesion=False,
        artefacts=Artefacts(blur=4.0, glare=0.3),
        reason="Every image is out of focus; the findings cannot be checked.",
        metadata={
            "age_at_exam": 44,
            "exam_year": 2026,
            "screening_context": "post_treatment",
            "hpv_result": "negative",
            "cytology": "nilm",
            "adequacy": "adequate",
            "scj_visibility": "completely_visible",
            "scj_location": "ecto_and_endocervix",
            "transformation_zone": "type_2",
            "normal_findings": ["squamous_mature"],
            "miscellaneous_findings": ["post_treatment_consequence"],
            **_NORMAL_SWEDE,
            "swede_iodine_uptake": "faint_or_patchy_yellow",
            "via_result": "negative",
            "provisional_diagnosis": "normal",
            "management": "repeat_in_1_year",
            "histopathology": "not_done",
        },
    ),
)

# Decisions a reviewer takes on a case in review.
_DECISIONS = frozenset({CaseState.ACCEPTED, CaseState.RETURNED, CaseState.REJECTED})


@functools.cache
def photographs(seed: int, lesion: bool, artefacts: Artefacts) -> tuple[tuple[str, bytes], ...]:
    """The rendered sequence, kept: rendering is the slow part and depends on its arguments only."""
    return tuple(sequence(seed, lesion=lesion, artefacts=artefacts))


class Command(BaseCommand):
    help = "Load the demo sites, users (one per role) and cases. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        created: Counter[str] = Counter()

        ensure_role_groups()
        sites = {spec.slug: self._site(spec, created) for spec in SITES}
        users = {spec.local_part: self._user(spec, sites, created) for spec in USERS}
        contributors = {spec.site: users[spec.local_part] for spec in USERS if spec.site}
        for spec in CASES:
            self._case(spec, sites[spec.site], contributors[spec.site], users["reviewer"], created)

        elapsed = time.monotonic() - started
        if created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created {created['site']} sites, {created['user']} users, "
                    f"{created['case']} cases and {created['image']} images in {elapsed:.1f} s."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS("Demo data already present: nothing created."))
        self._print_logins()

    def _site(self, spec: DemoSite, created: Counter) -> Site:
        site = Site.objects.filter(slug=spec.slug).first()
        if site is None:
            site = site_services.create_site(
                slug=spec.slug,
                name=spec.name,
                country=spec.country,
                clinical_setting=spec.clinical_setting,
                devices=list(spec.devices),
            )
            created["site"] += 1
        return site

    @transaction.atomic
    def _user(self, spec: DemoUser, sites: dict[str, Site], created: Counter) -> User:
        user = User.objects.filter(email=spec.email).first()
        if user is None:
            create = User.objects.create_superuser if spec.superuser else User.objects.create_user
            user = create(spec.email, DEMO_PASSWORD, full_name=spec.full_name)
            # A verified address, so that allauth lets the demo users straight in.
            EmailAddress.objects.get_or_create(
                user=user, email=spec.email, defaults={"verified": True, "primary": True}
            )
            created["user"] += 1
        # Both services are idempotent; calling them again repairs a half-set-up demo user.
        for role in spec.roles:
            site_services.grant_role(user=user, role=role)
        if spec.site:
            site_services.add_site_member(site=sites[spec.site], user=user)
        return user

    def _case(
        self, spec: DemoCase, site: Site, contributor: User, reviewer: User, created: Counter
    ) -> None:
        pseudonym = pseudonym_for(site.slug, spec.local_patient_id)
        if Case.objects.filter(site=site, subject__pseudonym=pseudonym).exists():
            return
        jpegs = photographs(spec.seed, spec.lesion, spec.artefacts)
        with transaction.atomic():
            case = case_services.create_case(
                site=site,
                actor=contributor,
                local_patient_id=spec.local_patient_id,
                **spec.metadata,
            )
            for order, (step, jpeg) in enumerate(jpegs, start=1):
                image = image_services.add_image(
                    case=case,
                    actor=contributor,
                    fileobj=io.BytesIO(jpeg),
                    # A camera-style name: a file name must never carry the patient's ID.
                    filename=f"IMG_{spec.seed:03d}{order}.jpg",
                    step=step,
                    capture_device=site.devices[0] if site.devices else "",
                )
                process_image(image.pk)
                created["image"] += 1
            failed = case.images.exclude(processing_status=ProcessingStatus.DONE).count()
            if failed:
                raise CommandError(f"{failed} demo images of {spec.local_patient_id} failed.")

            if spec.state != CaseState.DRAFT:
                case_services.submit_case(case=case, actor=contributor)
                run_quality_checks(case.pk)
                case.refresh_from_db()
                if case.state != CaseState.IN_REVIEW:
                    raise CommandError(
                        f"The quality checks left {spec.local_patient_id} in {case.state}."
                    )
            if spec.state in _DECISIONS:
                case_services.transition_case(
                    case=case, to_state=spec.state, actor=reviewer, reason=spec.reason
                )
        created["case"] += 1

    def _print_logins(self) -> None:
        rows = [(spec.email, DEMO_PASSWORD, spec.description) for spec in USERS]
        headers = ("Email", "Password", "Role")
        widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(3)]

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(line(headers).rstrip()))
        for row in rows:
            self.stdout.write(line(row).rstrip())
