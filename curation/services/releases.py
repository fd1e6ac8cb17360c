"""Dataset releases: defining a version, previewing it, building it (a durable Celery task),
publishing it, auditing its stored files, and exporting it for offline delivery.

States (curation.models.ReleaseState): draft → queued → building → built → published; a build
that fails is `failed` (its definition can be corrected and built again); a built version can be
rebuilt until it is published; a published version never changes (curation.release_triggers).
Releases know nothing of who may download them (access_requests grants that).
"""

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import hooks
from curation.checks.defaults import DEFAULTS
from curation.models import (
    Release,
    ReleaseAudit,
    ReleaseFile,
    ReleaseImage,
    ReleaseState,
    ReleaseVersion,
    parse_version,
)
from curation.releases import splits
from curation.services import release_build
from imagebank import storage
from imagebank.reconcile import Backlog, Outcome
from imagebank.roles import CURATOR, has_role

logger = logging.getLogger(__name__)

DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)
EDITABLE = (ReleaseState.DRAFT, ReleaseState.FAILED, ReleaseState.BUILT)
# The placeholder a download replaces with the group's signed agreement (access_requests).
AGREEMENT_PLACEHOLDER = (
    "This file is replaced, in each download, by the data use agreement that the downloading\n"
    "group signed with the Cervical Image Bank.\n"
)


def can_manage_releases(user) -> bool:
    """Curators (and superusers) define, build and publish releases."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or has_role(user, CURATOR)


def _require_curator(user) -> None:
    if not can_manage_releases(user):
        raise PermissionDenied(_("Only curators manage releases."))


def create_release(*, slug: str, title: str, actor) -> Release:
    _require_curator(actor)
    release = Release(slug=slug, title=title, created_by=actor)
    release.full_clean()
    release.save()
    return release


def _definition(values: dict) -> dict:
    """The definition fields, validated (a ValidationError names each bad field)."""
    out = dict(values)
    errors: dict[str, str] = {}
    if "version" in out:
        try:
            parse_version(out["version"])
        except ValidationError as error:
            errors.update(error.message_dict)
    if "fractions" in out:
        try:
            out["fractions"] = list(splits.validate_fractions(out["fractions"]))
        except ValueError as error:
            errors["fractions"] = str(error)
    if "selection" in out:
        try:
            release_build.validate_selection(out["selection"] or {})
        except ValidationError as error:
            errors.update(error.message_dict)
    if "seed" in out and not (isinstance(out["seed"], int) and 0 <= out["seed"] < 2**63):
        errors["seed"] = _("The seed is a whole number from 0.")
    if errors:
        raise ValidationError(errors)
    return out


def define_version(
    *,
    release: Release,
    actor,
    version: str,
    description: str,
    licence_name: str,
    citation: str,
    licence_url: str = "",
    changelog_note: str = "",
    selection: dict | None = None,
    label_names: list[str] | None = None,
    fractions=DEFAULT_FRACTIONS,
    seed: int | None = None,
    stratify_by: list[str] | None = None,
    stratify_by_site: bool = True,
    near_radius: int | None = None,
) -> ReleaseVersion:
    """A new draft version. Without labels it carries every active label definition; without a
    seed one is drawn (and recorded); stratified by the first label unless told otherwise."""
    _require_curator(actor)
    values = _definition(
        {
            "version": version,
            "fractions": fractions,
            "selection": selection or {},
            "seed": secrets.randbelow(2**31) if seed is None else seed,
        }
    )
    names = list(label_names or [])
    if not names:
        names = [d.name for d in release_build._label_definitions([])]
    release_build._label_definitions(names)  # unknown names: a ValidationError naming them
    if stratify_by is None:
        stratify_by = names[:1]
    if ReleaseVersion.objects.filter(release=release, version=version).exists():
        raise ValidationError(
            {"version": _("This release already has a version %(v)s.") % {"v": version}}
        )
    row = ReleaseVersion(
        release=release,
        version=version,
        description=description,
        licence_name=licence_name,
        licence_url=licence_url,
        citation=citation,
        changelog_note=changelog_note,
        selection=values["selection"],
        label_names=names,
        stratify_by=list(stratify_by),
        stratify_by_site=stratify_by_site,
        fractions=values["fractions"],
        seed=values["seed"],
        near_radius=DEFAULTS["duplicate"]["near_radius"] if near_radius is None else near_radius,
        created_by=actor,
    )
    row.full_clean()
    row.save()
    return row


def update_version(version: ReleaseVersion, *, actor, **fields) -> ReleaseVersion:
    """Change an unpublished version's definition (not while it is queued or building)."""
    _require_curator(actor)
    allowed = {
        "description",
        "licence_name",
        "licence_url",
        "citation",
        "changelog_note",
        "selection",
        "label_names",
        "stratify_by",
        "stratify_by_site",
        "fractions",
        "seed",
        "near_radius",
    }
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationError({"fields": _("Unknown fields: %(f)s.") % {"f": ", ".join(unknown)}})
    values = _definition(fields)
    with transaction.atomic():
        version = ReleaseVersion.objects.select_for_update().get(pk=version.pk)
        if version.state not in EDITABLE:
            raise ValidationError(
                _("This version can no longer be changed (%(state)s).")
                % {"state": version.get_state_display()}
            )
        for name, value in values.items():
            setattr(version, name, value)
        if "label_names" in values:
            release_build._label_definitions(version.label_names)
        if version.state == ReleaseState.BUILT:
            version.state = ReleaseState.DRAFT  # what was built no longer matches
        version.full_clean()
        version.save()
    return version


def preview(version: ReleaseVersion) -> dict:
    """The counts a build of this definition would give, per split, label and site (nothing is
    written)."""
    return release_build.plan(version).counts()


# --- building ---------------------------------------------------------------------------------


def queue_build(version: ReleaseVersion, *, actor) -> ReleaseVersion:
    """Mark the version to be built and send its task after the commit; the reconciler sends it
    again if the message is lost or the worker dies (`release_builds`)."""
    _require_curator(actor)
    from curation.tasks import build_release
    from imagebank.durable import send_task_on_commit

    with transaction.atomic():
        version = ReleaseVersion.objects.select_for_update().get(pk=version.pk)
        if version.state not in EDITABLE:
            raise ValidationError(
                _("This version cannot be built now (%(state)s).")
                % {"state": version.get_state_display()}
            )
        version.state = ReleaseState.QUEUED
        version.queued_at = timezone.now()
        version.build_error = ""
        version.save()
        send_task_on_commit(build_release, version.pk)
    return version


def build_version(version_id: int) -> ReleaseVersion | None:
    """Build a queued (or interrupted) version: the task's body, and create_release's in-process
    build. Claims the version (building, with the attempt counted) in one transaction, then
    freezes everything in a second one that ends with the version built: a worker killed between
    the two leaves it `building`, and the reconciler hands it to a worker again. Returns None if
    the version is not waiting to be built."""
    with transaction.atomic():
        version = (
            ReleaseVersion.objects.select_for_update()
            .select_related("release")
            .filter(pk=version_id)
            .first()
        )
        if version is None or version.state not in (ReleaseState.QUEUED, ReleaseState.BUILDING):
            return None
        version.state = ReleaseState.BUILDING
        version.build_started_at = timezone.now()
        version.build_attempts += 1
        version.save()
    try:
        with transaction.atomic():
            version = (
                ReleaseVersion.objects.select_for_update()
                .select_related("release")
                .get(pk=version_id)
            )
            if version.state != ReleaseState.BUILDING:
                return None
            plan = release_build.plan(version)
            if not plan.cases:
                raise ValidationError(_("The selection takes no accepted case with images."))
            release_build.freeze(version, plan)
            version.state = ReleaseState.BUILT
            version.built_at = timezone.now()
            version.build_error = ""
            version.save()
    except ValidationError as error:
        _fail(version_id, "; ".join(error.messages))
        raise
    return version


def _fail(version_id: int, reason: str) -> None:
    ReleaseVersion.objects.filter(pk=version_id, state=ReleaseState.BUILDING).update(
        state=ReleaseState.FAILED, build_error=reason[:500]
    )


def build_now(version: ReleaseVersion, *, actor) -> ReleaseVersion:
    """Build in this process (create_release): queue, then run the task's body at once."""
    _require_curator(actor)
    with transaction.atomic():
        version = ReleaseVersion.objects.select_for_update().get(pk=version.pk)
        if version.state not in EDITABLE:
            raise ValidationError(_("This version cannot be built now (%(state)s)."))
        version.state = ReleaseState.QUEUED
        version.queued_at = timezone.now()
        version.save()
    return build_version(version.pk)


def publish(version: ReleaseVersion, *, actor) -> ReleaseVersion:
    """Built → published: from now on nothing of it can change. Every stored file is checked to
    exist first."""
    _require_curator(actor)
    with transaction.atomic():
        version = ReleaseVersion.objects.select_for_update().get(pk=version.pk)
        if version.state != ReleaseState.BUILT:
            raise ValidationError(_("Only a built version can be published."))
        missing = [path for path, key in _stored_paths(version) if not _exists(key)]
        if missing:
            raise ValidationError(
                _("%(n)s stored files are missing (%(first)s); build the version again.")
                % {"n": len(missing), "first": missing[0]}
            )
        version.state = ReleaseState.PUBLISHED
        version.published_at = timezone.now()
        version.published_by = actor
        version.save()
        published = version
        transaction.on_commit(
            lambda: hooks.release_published.send(sender=ReleaseVersion, version=published)
        )
    return version


# --- stored files: audit and export -----------------------------------------------------------


def _stored_paths(version: ReleaseVersion):
    """(path inside the release, storage key, SHA-256) of every file of the version."""
    for row in ReleaseFile.objects.filter(version=version).select_related("blob").order_by("path"):
        yield row.path, row.blob.storage_key
    images = (
        ReleaseImage.objects.filter(version=version)
        .select_related("blob")
        .only("path", "blob__storage_key")
        .order_by("path")
    )
    for row in images.iterator(chunk_size=2000):
        yield row.path, row.blob.storage_key


def _exists(key: str) -> bool:
    from django.core.files.storage import default_storage

    return default_storage.exists(key)


def _hash_of(key: str) -> str | None:
    from django.core.files.storage import default_storage

    try:
        with default_storage.open(key, "rb") as handle:
            digest = hashlib.sha256()
            while chunk := handle.read(storage.CHUNK):
                digest.update(chunk)
            return digest.hexdigest()
    except (FileNotFoundError, OSError):
        return None


def audit_version(version: ReleaseVersion) -> ReleaseAudit:
    """Re-hash every stored file of the version; record what is missing or changed. A blob
    shared by several paths is read once."""
    audit = ReleaseAudit.objects.create(version=version)
    expected: dict[str, str] = {}
    rows = [
        *ReleaseFile.objects.filter(version=version).values_list(
            "path", "sha256", "blob__storage_key"
        ),
        *ReleaseImage.objects.filter(version=version).values_list(
            "path", "sha256", "blob__storage_key"
        ),
    ]
    for _path, sha, key in rows:
        expected[key] = sha
    found = {key: _hash_of(key) for key in sorted(expected)}
    missing, changed = [], []
    for path, sha, key in sorted(rows):
        if found[key] is None:
            missing.append(path)
        elif found[key] != sha:
            changed.append(path)
    audit.files_checked = len(rows)
    audit.missing = missing
    audit.changed = changed
    audit.ok = not missing and not changed
    audit.finished_at = timezone.now()
    audit.save()
    if not audit.ok:
        logger.error(
            "release %s: %d files missing, %d changed", version.label, len(missing), len(changed)
        )
    return audit


def audit_published(now: datetime | None = None) -> list[ReleaseAudit]:
    """Audit every published version (the periodic task)."""
    versions = ReleaseVersion.objects.filter(state=ReleaseState.PUBLISHED).select_related("release")
    return [audit_version(version) for version in versions]


def read_file(version: ReleaseVersion, path: str) -> bytes:
    """The bytes of one file of the version, checked against its SHA-256."""
    row = (
        ReleaseFile.objects.filter(version=version, path=path).select_related("blob").first()
        or ReleaseImage.objects.filter(version=version, path=path).select_related("blob").first()
    )
    if row is None:
        raise FileNotFoundError(path)
    data = storage.read_bytes(row.blob.storage_key)
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise ValidationError(_("%(path)s does not match its SHA-256.") % {"path": path})
    return data


def export_version(version: ReleaseVersion, out: Path) -> dict:
    """Write what a researcher's download holds into the folder `out` (created; must be empty):
    the manifest (CSV and Parquet), the images at the manifest's paths, croissant.json,
    datasheet.md, LICENSE.txt and AGREEMENT.txt (a placeholder: a download carries the group's
    signed agreement). Every file is checked against its SHA-256 as it is written."""
    if version.state not in (ReleaseState.BUILT, ReleaseState.PUBLISHED):
        raise ValidationError(_("Only a built or published version can be exported."))
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValidationError(_("The folder %(dir)s is not empty.") % {"dir": out})
    out.mkdir(parents=True, exist_ok=True)
    written = total = 0
    root = out.resolve()
    for path, _key in _stored_paths(version):
        target = (out / path).resolve()
        if root not in target.parents:  # paths are the build's own; refuse anything else
            raise ValidationError(_("Refused path %(path)s.") % {"path": path})
        target.parent.mkdir(parents=True, exist_ok=True)
        data = read_file(version, path)
        target.write_bytes(data)
        written += 1
        total += len(data)
    (out / "AGREEMENT.txt").write_text(AGREEMENT_PLACEHOLDER, encoding="utf-8")
    return {"files": written + 1, "bytes": total, "images": version.image_count}


# --- the reconciler's kind --------------------------------------------------------------------


def _lease() -> timedelta:
    return timedelta(seconds=settings.RELEASE_BUILD_LEASE_SECONDS)


def reconcile_builds(now: datetime) -> Outcome:
    """Queued versions whose task was lost, and builds whose worker died (building past the
    lease), are sent to a worker again; after RELEASE_BUILD_MAX_ATTEMPTS starts a build fails."""
    from curation.tasks import build_release
    from imagebank.durable import send_task

    outcome = Outcome()
    stale = ReleaseVersion.objects.filter(
        Q(state=ReleaseState.QUEUED, queued_at__lt=now - _lease())
        | Q(state=ReleaseState.BUILDING, build_started_at__lt=now - _lease())
    ).order_by("pk")
    for version in stale[:100]:
        if version.build_attempts >= settings.RELEASE_BUILD_MAX_ATTEMPTS:
            _fail(
                version.pk,
                _("The build was interrupted %(n)s times.") % {"n": version.build_attempts},
            )
            ReleaseVersion.objects.filter(pk=version.pk, state=ReleaseState.QUEUED).update(
                state=ReleaseState.FAILED
            )
            outcome.failed += 1
            continue
        if version.state == ReleaseState.BUILDING:
            outcome.resumed += 1
        else:
            outcome.requeued += 1
        send_task(build_release, version.pk)
    return outcome


def builds_backlog() -> Backlog:
    waiting = ReleaseVersion.objects.filter(state__in=[ReleaseState.QUEUED, ReleaseState.BUILDING])
    return Backlog(count=waiting.count(), oldest=waiting.aggregate(m=Min("queued_at"))["m"])
