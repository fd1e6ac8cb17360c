"""`manage.py load_demo`: the demo bank that `make demo` starts with.

Everything is created through the services, as a contributor and a reviewer would: three sites, one
user per role, and eight cases with synthetic image sequences in several lifecycle states. Running
it again creates nothing new: users are found by email, sites by slug and cases by the pseudonym of
their made-up local patient ID. The image processing and the quality checks that a Celery worker
would run later are run here directly, because the worker may not be up yet; the queued copies
find the work done and skip.

Then it runs what the apps above imagebank add to the demo (`imagebank.demo`: model_bench's
benchmark release and tasks), unless `--core-only` is given.
"""

import functools
import io
import time
from collections import Counter
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from fixtures.demo_catalogue import CASES, DEMO_PASSWORD, SITES, USERS, DemoCase, DemoSite, DemoUser
from fixtures.synthetic_cervix import Artefacts, sequence
from imagebank.demo import demo_loaders
from imagebank.lifecycle import CaseState
from imagebank.models import Case, ProcessingStatus, Site, User
from imagebank.pseudonyms import pseudonym_for
from imagebank.roles import ensure_role_groups
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.services import sites as site_services
from imagebank.tasks import process_image, run_quality_checks

# Decisions a reviewer takes on a case in review.
_DECISIONS = frozenset({CaseState.ACCEPTED, CaseState.RETURNED, CaseState.REJECTED})


@functools.cache
def photographs(seed: int, lesion: bool, artefacts: Artefacts) -> tuple[tuple[str, bytes], ...]:
    """The rendered sequence, kept: rendering is the slow part and depends on its arguments only."""
    return tuple(sequence(seed, lesion=lesion, artefacts=artefacts))


class Command(BaseCommand):
    help = (
        "Load the demo sites, users (one per role) and cases, then what the other apps add to the "
        "demo. Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        added = ", ".join(loader.name for loader in demo_loaders()) or "nothing"
        parser.add_argument(
            "--core-only",
            action="store_true",
            help=f"Only the sites, users and cases, without what the other apps add ({added}).",
        )

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
        if not options["core_only"]:
            for loader in demo_loaders():
                self.stdout.write(self.style.MIGRATE_HEADING(f"Demo {loader.name}:"))
                loader.load(self.stdout)
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
                source_reference=spec.source_reference,
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
                    step_is_guess=spec.steps_guessed,
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
