"""Building a release version: the selection, the splits and the frozen files.

`plan(version)` works out, without writing anything, which cases and images a version's
definition takes, their labels, and the split of each case (the preview shows its counts);
`freeze(version, plan)` writes the frozen result: every image stored once under its SHA-256
(ReleaseBlob), one ReleaseImage per image under a neutral path, the test split's labels in
SequesteredLabel only, the manifest (CSV and Parquet), the datasheet, the licence, the Croissant
metadata, the changelog against the previous version, and the counts. Everything it writes to the
database is in one transaction (curation.services.releases.build_version), so a killed build
leaves nothing half-done; blobs it stored before dying are content-addressed and reused.

Leakage-free splits (docs/releases.md): all cases of one subject, and all cases linked by exact or
near-duplicate images (within the version's `near_radius`, across subjects and sites), are one
group, and a group goes whole to one split (curation.releases.splits). The same definition, seed
and bank give the same splits, codes and files, byte for byte.
"""

import hashlib
import hmac
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext as _

from curation.fingerprints import to_unsigned
from curation.models import (
    ChangeKind,
    CheckResult,
    ImageExclusion,
    ImageFingerprint,
    LabelDefinition,
    ReleaseBlob,
    ReleaseChange,
    ReleaseFile,
    ReleaseImage,
    ReleaseState,
    ReleaseVersion,
    Review,
    ReviewStatus,
    SequesteredLabel,
)
from curation.releases import clusters, croissant, datasheet, manifest, splits
from curation.releases import labels as label_rules
from imagebank import storage
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image, ProcessingStatus

BATCH = 2000
PUBLISHER = "Cervical Image Bank"
# What a selection may say (ReleaseVersion.selection); anything else is refused.
SELECTION_KEYS = (
    "sites",  # site slugs
    "submitted_from",  # ISO dates, inclusive
    "submitted_to",
    "steps",  # steps every selected case must have among its released images
    "require_labels",  # label names every selected case must have a value for
    "exclude_failed_checks",  # check names: an image whose latest result fails is left out
)


@dataclass
class PlannedImage:
    image: Image
    extension: str


@dataclass
class PlannedCase:
    case: Case
    images: list[PlannedImage]
    labels: dict[str, str | None]
    split: str = ""


@dataclass
class Plan:
    cases: list[PlannedCase]
    label_definitions: list[LabelDefinition]
    groups: list[tuple[int, ...]]
    links: int  # case pairs linked by duplicate images
    left_out: dict[str, int] = field(default_factory=dict)  # images left out, by reason

    def counts(self) -> dict:
        """What the preview shows: cases, subjects and images per split, label values per split,
        cases per site and split. Counts only, never a case."""
        out = {
            "splits": {name: {"cases": 0, "subjects": 0, "images": 0} for name in splits.SPLITS},
            "labels": {
                d.name: {name: {} for name in splits.SPLITS} for d in self.label_definitions
            },
            "sites": {},
            "groups": len(self.groups),
            "linked_pairs": self.links,
            "left_out": dict(sorted(self.left_out.items())),
        }
        subjects: dict[str, set[int]] = defaultdict(set)
        for planned in self.cases:
            split = planned.split
            out["splits"][split]["cases"] += 1
            out["splits"][split]["images"] += len(planned.images)
            subjects[split].add(planned.case.subject_id)
            for name, value in planned.labels.items():
                key = value if value is not None else "missing"
                cell = out["labels"][name][split]
                cell[key] = cell.get(key, 0) + 1
            site = out["sites"].setdefault(planned.case.site.slug, dict.fromkeys(splits.SPLITS, 0))
            site[split] += 1
        for name in splits.SPLITS:
            out["splits"][name]["subjects"] = len(subjects[name])
        out["sites"] = dict(sorted(out["sites"].items()))
        return out


# --- codes ------------------------------------------------------------------------------------


def release_code(slug: str, kind: str, pk: int) -> str:
    """A release-specific code for a bank row ("i-", "c-" or "s-" and 16 hex digits): an HMAC
    under PSEUDONYM_KEY of the release's slug, the kind and the id. The same image keeps its code
    in every version of a release (submissions stay comparable), codes of two releases cannot be
    linked, and no bank id or pseudonym can be read back from one."""
    message = f"release:{slug}:{kind}:{pk}".encode()
    digest = hmac.new(settings.PSEUDONYM_KEY.encode(), message, hashlib.sha256).hexdigest()
    return f"{kind}-{digest[:16]}"


# --- the selection ----------------------------------------------------------------------------


def validate_selection(selection: dict) -> dict:
    unknown = sorted(set(selection) - set(SELECTION_KEYS))
    if unknown:
        raise ValidationError(
            {"selection": _("Unknown selection keys: %(keys)s.") % {"keys": ", ".join(unknown)}}
        )
    for key in ("sites", "steps", "require_labels", "exclude_failed_checks"):
        value = selection.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValidationError({key: _("Give a list of names.")})
    return selection


def _extension(image: Image) -> str:
    suffix = PurePosixPath(image.file.name).suffix.lower().lstrip(".")
    return {"jpeg": "jpg"}.get(suffix, suffix) or "jpg"


def _selected_cases(selection: dict):
    cases = Case.objects.filter(state=CaseState.ACCEPTED).select_related("site", "subject")
    if selection.get("sites"):
        cases = cases.filter(site__slug__in=selection["sites"])
    if selection.get("submitted_from"):
        cases = cases.filter(submitted_at__date__gte=selection["submitted_from"])
    if selection.get("submitted_to"):
        cases = cases.filter(submitted_at__date__lte=selection["submitted_to"])
    return cases.only(
        "pk",
        "site__slug",
        "site__country",
        "subject_id",
        "submitted_at",
        "exam_year",
        *label_rules.CASE_FIELDS,
    ).order_by("pk")


def _failed_images(case_ids: list[int], checks: list[str]) -> set[int]:
    if not checks:
        return set()
    failed: set[int] = set()
    for start in range(0, len(case_ids), BATCH):
        results = _latest_image_results(
            CheckResult.objects.filter(
                case_id__in=case_ids[start : start + BATCH],
                check_name__in=checks,
                image__isnull=False,
            )
        ).filter(verdict="fail")
        failed.update(results.values_list("image_id", flat=True))
    return failed


def _latest_image_results(results):
    """Of image-level `results`, the latest of each check on each image (the row run last), as
    curation.selectors.latest_results gives them, in a form the database answers by index: on
    the image and the check directly (the general form's coalesced key, which also covers
    case-level rows, defeats the index), and without the model's ordering, which joined the
    cases table in."""
    newer = CheckResult.objects.filter(
        image_id=OuterRef("image_id"), check_name=OuterRef("check_name")
    ).filter(
        Q(checked_at__gt=OuterRef("checked_at"))
        | Q(checked_at=OuterRef("checked_at"), pk__gt=OuterRef("pk"))
    )
    return results.filter(~Exists(newer)).order_by()


def plan(version: ReleaseVersion) -> Plan:
    """The cases and images the version's definition takes, their labels and splits."""
    selection = validate_selection(dict(version.selection or {}))
    definitions = _label_definitions(version.label_names)
    by_name = {d.name: d for d in definitions}
    required = selection.get("require_labels", [])
    for name in [*required, *version.stratify_by]:
        if name not in by_name:
            raise ValidationError(
                {
                    "labels": _("The label %(name)s is not among the release's labels.")
                    % {"name": name}
                }
            )
    cases = list(_selected_cases(selection))
    case_ids = [case.pk for case in cases]
    failed = _failed_images(case_ids, selection.get("exclude_failed_checks", []))
    excluded = (
        set(
            ImageExclusion.objects.filter(image__case_id__in=case_ids).values_list(
                "image_id", flat=True
            )
        )
        if case_ids
        else set()
    )
    images_of: dict[int, list[Image]] = defaultdict(list)
    left_out: Counter = Counter()
    for start in range(0, len(case_ids), BATCH):
        rows = (
            Image.objects.filter(case_id__in=case_ids[start : start + BATCH])
            .only(
                "pk",
                "case_id",
                "step",
                "display_order",
                "file",
                "sha256",
                "original_sha256",
                "byte_size",
                "width",
                "height",
                "processing_status",
            )
            .order_by("case_id", "display_order", "pk")
        )
        for image in rows:
            if image.processing_status != ProcessingStatus.DONE:
                left_out["not_processed"] += 1
            elif image.pk in excluded:
                left_out["excluded_by_review"] += 1
            elif image.pk in failed:
                left_out["failed_check"] += 1
            else:
                images_of[image.case_id].append(image)
    steps_needed = set(selection.get("steps", []))
    planned: list[PlannedCase] = []
    for case in cases:
        images = images_of.get(case.pk, [])
        if not images:
            continue
        if steps_needed - {image.step for image in images}:
            continue
        values = {d.name: label_rules.value(d.rule, case) for d in definitions}
        if any(values[name] is None for name in required):
            continue
        planned.append(
            PlannedCase(
                case=case,
                images=[PlannedImage(image, _extension(image)) for image in images],
                labels=values,
            )
        )
    groups, links = _assign(planned, version)
    return Plan(
        cases=planned,
        label_definitions=definitions,
        groups=groups,
        links=links,
        left_out=dict(left_out),
    )


def _label_definitions(names: list[str]) -> list[LabelDefinition]:
    if not names:
        return list(LabelDefinition.objects.filter(active=True))
    found = {d.name: d for d in LabelDefinition.objects.filter(name__in=names)}
    missing = [name for name in names if name not in found]
    if missing:
        raise ValidationError(
            {"labels": _("Unknown label definitions: %(names)s.") % {"names": ", ".join(missing)}}
        )
    return [found[name] for name in names]


def _duplicate_links(planned: list[PlannedCase], radius: int) -> set[tuple[int, int]]:
    """Pairs of case ids whose images are exact or near duplicates of each other."""
    owner: list[int] = []
    image_ids: list[int] = []
    stored: list[str] = []
    received: list[str] = []
    for item in planned:
        for p in item.images:
            owner.append(item.case.pk)
            image_ids.append(p.image.pk)
            stored.append(p.image.sha256)
            received.append(p.image.original_sha256 or "")
    pairs = clusters.exact_duplicate_pairs(stored) + clusters.exact_duplicate_pairs(received)
    position = {pk: index for index, pk in enumerate(image_ids)}
    hashes: list[int] = []
    hashed: list[int] = []
    for start in range(0, len(image_ids), BATCH):
        for image_id, phash in ImageFingerprint.objects.filter(
            image_id__in=image_ids[start : start + BATCH]
        ).values_list("image_id", "phash"):
            hashed.append(position[image_id])
            hashes.append(to_unsigned(phash))
    for i, j in clusters.near_duplicate_pairs(hashes, radius):
        pairs.append((hashed[i], hashed[j]))
    links = set()
    for i, j in pairs:
        a, b = owner[i], owner[j]
        if a != b:
            links.add((min(a, b), max(a, b)))
    return links


def _assign(planned: list[PlannedCase], version: ReleaseVersion):
    if not planned:
        return [], 0
    stratify = list(version.stratify_by or [])
    units = [
        splits.CaseUnit(
            key=item.case.pk,
            subject=item.case.subject_id,
            site=item.case.site.slug,
            strata=tuple(item.labels.get(name) for name in stratify),
            images=len(item.images),
        )
        for item in planned
    ]
    links = _duplicate_links(planned, version.near_radius)
    groups = splits.group_cases(units, links)
    policy = splits.SplitPolicy(
        fractions=splits.validate_fractions(version.fractions),
        seed=version.seed,
        stratify_by_site=version.stratify_by_site,
    )
    assignment = splits.assign_splits(units, groups, policy)
    for item in planned:
        item.split = assignment[item.case.pk]
    return groups, len(links)


# --- freezing -----------------------------------------------------------------------------------


def _blobs_for(planned: list[PlannedCase]) -> dict[str, ReleaseBlob]:
    """A ReleaseBlob for every distinct stored image, storing the bytes not yet stored."""
    wanted: dict[str, PlannedImage] = {}
    for item in planned:
        for p in item.images:
            wanted.setdefault(p.image.sha256, p)
    blobs: dict[str, ReleaseBlob] = {}
    shas = sorted(wanted)
    for start in range(0, len(shas), BATCH):
        for blob in ReleaseBlob.objects.filter(sha256__in=shas[start : start + BATCH]):
            blobs[blob.sha256] = blob
    for sha in shas:
        if sha in blobs:
            continue
        p = wanted[sha]
        data = storage.read_bytes(p.image.file.name)
        if hashlib.sha256(data).hexdigest() != sha:
            raise ValidationError(
                _("Image %(id)s does not match its recorded SHA-256: the bank's copy changed.")
                % {"id": p.image.pk}
            )
        stored = _store_verified(data, sha, p.extension)
        blobs[sha], _created = ReleaseBlob.objects.get_or_create(
            sha256=sha, defaults={"bytes": stored.byte_size, "storage_key": stored.key}
        )
    return blobs


def _store_verified(data: bytes, sha: str, extension: str) -> storage.StoredObject:
    """Store the bytes under their content key. An object already there without a blob row
    (left by a build that did not commit, or changed behind the bank's back) is trusted only
    if it still hashes to its key; otherwise it is replaced, so a new blob never records a
    checksum its stored object does not have."""
    from django.core.files.storage import default_storage

    key = storage.content_key(sha, extension, "releases")
    if default_storage.exists(key):
        with default_storage.open(key, "rb") as handle:
            found = hashlib.sha256()
            while chunk := handle.read(storage.CHUNK):
                found.update(chunk)
        if found.hexdigest() == sha:
            return storage.StoredObject(key=key, sha256=sha, byte_size=len(data))
        default_storage.delete(key)
    return storage.store_bytes(data, extension, "releases")


def _file_blob(data: bytes, extension: str) -> ReleaseBlob:
    sha = hashlib.sha256(data).hexdigest()
    existing = ReleaseBlob.objects.filter(sha256=sha).first()
    if existing is not None:
        return existing
    stored = _store_verified(data, sha, extension)
    blob, _created = ReleaseBlob.objects.get_or_create(
        sha256=stored.sha256, defaults={"bytes": stored.byte_size, "storage_key": stored.key}
    )
    return blob


def _rows(version: ReleaseVersion, planned: list[PlannedCase], blobs, label_names):
    slug = version.release.slug
    order = {name: index for index, name in enumerate(splits.SPLITS)}
    coded = sorted(
        ((item, release_code(slug, "c", item.case.pk)) for item in planned),
        key=lambda pair: (order[pair[0].split], pair[1]),
    )
    for item, case_code in coded:
        subject_code = release_code(slug, "s", item.case.subject_id)
        per_step: Counter = Counter()
        for position, p in enumerate(item.images, start=1):
            per_step[p.image.step] += 1
            image_id = release_code(slug, "i", p.image.pk)
            path = (
                f"images/{item.split}/{case_code}/{p.image.step}-{per_step[p.image.step]}"
                f".{p.extension}"
            )
            blob = blobs[p.image.sha256]
            labels = {name: item.labels.get(name) for name in label_names}
            yield (
                ReleaseImage(
                    version=version,
                    image_id=image_id,
                    path=path,
                    blob=blob,
                    sha256=blob.sha256,
                    bytes=blob.bytes,
                    width=p.image.width,
                    height=p.image.height,
                    case_code=case_code,
                    subject_code=subject_code,
                    site=item.case.site.slug,
                    step=p.image.step,
                    order=position,
                    split=item.split,
                    # The test split's labels go to SequesteredLabel only.
                    labels={} if item.split == "test" else labels,
                    source_image_id=p.image.pk,
                    source_case_id=item.case.pk,
                ),
                labels,
            )


def _manifest_row(row: ReleaseImage, labels: dict) -> dict:
    return {
        "image_id": row.image_id,
        "path": row.path,
        "sha256": row.sha256,
        "bytes": row.bytes,
        "width": row.width,
        "height": row.height,
        "case": row.case_code,
        "subject": row.subject_code,
        "site": row.site,
        "step": row.step,
        "order": row.order,
        "split": row.split,
        "labels": {} if row.split == "test" else labels,
    }


def meta_of(version: ReleaseVersion, definitions: list[LabelDefinition]) -> croissant.ReleaseMeta:
    from django.urls import reverse

    # The catalogue page; a bank that has not set SITE_URL (the demo) is on localhost.
    url = (settings.SITE_URL or "http://localhost:8000").rstrip("/") + reverse(
        "curation:release-version", args=[version.release.slug, version.version]
    )
    return croissant.ReleaseMeta(
        slug=version.release.slug,
        version=version.version,
        title=version.release.title,
        description=version.description,
        licence_name=version.licence_name,
        licence_url=version.licence_url,
        citation=version.citation,
        url=url,
        published=version.published_at.date().isoformat() if version.published_at else None,
        publisher=PUBLISHER,
        keywords=("cervical cancer", "colposcopy", "visual inspection with acetic acid"),
        label_classes={d.name: label_rules.RULES[d.rule].classes for d in definitions},
        label_titles={d.name: d.title for d in definitions},
        changelog_summary=version.changelog_note,
    )


def _stats(version, plan_: Plan, rows: list[ReleaseImage], changes: list[ReleaseChange]) -> dict:
    counts = plan_.counts()
    steps: dict[str, dict[str, int]] = {}
    for row in rows:
        steps.setdefault(row.step, dict.fromkeys(splits.SPLITS, 0))[row.split] += 1
    image_ids = [row.source_image_id for row in rows]
    verdicts: dict[str, dict[str, int]] = {}
    for start in range(0, len(image_ids), BATCH):
        results = (
            _latest_image_results(
                CheckResult.objects.filter(image_id__in=image_ids[start : start + BATCH])
            )
            .values_list("check_name", "verdict")
            .annotate(n=Count("pk"))
        )
        for name, verdict, n in results:
            cell = verdicts.setdefault(name, {"pass": 0, "warn": 0, "fail": 0, "error": 0})
            cell[verdict] = cell.get(verdict, 0) + n
    case_ids = [item.case.pk for item in plan_.cases]
    reviews = adjudicated = 0
    reviewers: set[int] = set()
    for start in range(0, len(case_ids), BATCH):
        chunk = Review.objects.filter(
            case_id__in=case_ids[start : start + BATCH], status=ReviewStatus.SUBMITTED
        )
        reviews += chunk.count()
        reviewers.update(chunk.values_list("reviewer_id", flat=True).distinct())
        adjudicated += (
            chunk.filter(entry__adjudication__isnull=False).values("entry_id").distinct().count()
        )
    years = [item.case.exam_year for item in plan_.cases if item.case.exam_year]
    kinds = Counter(change.kind for change in changes)
    return {
        "splits": counts["splits"],
        "labels": counts["labels"],
        "sites": counts["sites"],
        "steps": dict(sorted(steps.items())),
        "checks": dict(sorted(verdicts.items())),
        "reviews": {"reviews": reviews, "reviewers": len(reviewers), "adjudicated": adjudicated},
        "excluded_images": sum(plan_.left_out.values()),
        "left_out": counts["left_out"],
        "groups": counts["groups"],
        "linked_pairs": counts["linked_pairs"],
        "countries": sorted({item.case.site.country for item in plan_.cases}),
        "exam_years": [min(years), max(years)] if years else [],
        "changelog": [
            {"kind": kind, "count": kinds[kind], "why": str(ChangeKind(kind).label)}
            for kind in sorted(kinds)
        ],
    }


def previous_version(version: ReleaseVersion) -> ReleaseVersion | None:
    """The highest version of the same release below this one that was built or published."""
    return (
        ReleaseVersion.objects.filter(
            release=version.release,
            state__in=[ReleaseState.BUILT, ReleaseState.PUBLISHED],
        )
        .filter(
            Q(major__lt=version.major)
            | Q(major=version.major, minor__lt=version.minor)
            | Q(major=version.major, minor=version.minor, patch__lt=version.patch)
        )
        .order_by("-major", "-minor", "-patch")
        .first()
    )


def _changelog(version, rows: list[ReleaseImage], labels_of: dict[str, dict]) -> list:
    """What changed since the previous version: cases added and removed, cases whose labels
    changed, images left out or added, each with why (what the bank says now)."""
    before = previous_version(version)
    if before is None:
        return []
    old_rows = list(
        ReleaseImage.objects.filter(version=before).only(
            "image_id", "case_code", "source_case_id", "source_image_id", "labels", "split"
        )
    )
    old_labels = {
        (row.image_id, row.label): row.value
        for row in SequesteredLabel.objects.filter(version=before)
    }
    old_cases = {row.case_code: row.source_case_id for row in old_rows}
    new_cases = {row.case_code: row.source_case_id for row in rows}
    old_images = {row.image_id: row for row in old_rows}
    new_images = {row.image_id: row for row in rows}
    changes: list[ReleaseChange] = []
    gone = [old_cases[code] for code in old_cases if code not in new_cases]
    states = dict(Case.objects.filter(pk__in=gone).values_list("pk", "state"))
    for code in sorted(set(new_cases) - set(old_cases)):
        changes.append(
            ReleaseChange(
                version=version,
                kind=ChangeKind.ADDED,
                case_code=code,
                why="accepted since the previous version",
            )
        )
    for code in sorted(set(old_cases) - set(new_cases)):
        state = states.get(old_cases[code])
        why = (
            "no longer in the bank"
            if state is None
            else "outside this version's selection"
            if state == CaseState.ACCEPTED
            else f"no longer accepted ({state})"
        )
        changes.append(
            ReleaseChange(version=version, kind=ChangeKind.REMOVED, case_code=code, why=why)
        )
    kept_cases = set(old_cases) & set(new_cases)
    for image_id in sorted(set(old_images) - set(new_images)):
        row = old_images[image_id]
        if row.case_code in kept_cases:
            changes.append(
                ReleaseChange(
                    version=version,
                    kind=ChangeKind.IMAGE_EXCLUDED,
                    case_code=row.case_code,
                    image_id=image_id,
                    why="left out by review or by a check",
                )
            )
    for image_id in sorted(set(new_images) - set(old_images)):
        row = new_images[image_id]
        if row.case_code in kept_cases:
            changes.append(
                ReleaseChange(
                    version=version,
                    kind=ChangeKind.IMAGE_ADDED,
                    case_code=row.case_code,
                    image_id=image_id,
                    why="added to the case since the previous version",
                )
            )
    seen: set[str] = set()
    for image_id, row in sorted(new_images.items()):
        if row.case_code not in kept_cases or row.case_code in seen or image_id not in old_images:
            continue
        old = old_images[image_id]
        now_labels = labels_of[image_id]
        was = {
            name: (
                old.labels.get(name) if old.split != "test" else old_labels.get((image_id, name))
            )
            for name in now_labels
        }
        differ = {
            name: [was[name], now_labels[name]]
            for name in now_labels
            if name in was and was[name] != now_labels[name]
        }
        if differ:
            seen.add(row.case_code)
            # The values themselves stay out of the changelog: a test-split case's would leak.
            changes.append(
                ReleaseChange(
                    version=version,
                    kind=ChangeKind.RELABELLED,
                    case_code=row.case_code,
                    why="labels corrected: " + ", ".join(sorted(differ)),
                )
            )
    return changes


def freeze(version: ReleaseVersion, plan_: Plan) -> None:
    """Write the frozen version (the caller holds the transaction and the version's lock)."""
    for model in (ReleaseImage, SequesteredLabel, ReleaseFile, ReleaseChange):
        model.objects.filter(version=version).delete()  # a rebuild of an unpublished version
    label_names = [d.name for d in plan_.label_definitions]
    blobs = _blobs_for(plan_.cases)
    rows: list[ReleaseImage] = []
    labels_of: dict[str, dict] = {}
    sequestered: list[SequesteredLabel] = []
    for row, labels in _rows(version, plan_.cases, blobs, label_names):
        rows.append(row)
        labels_of[row.image_id] = labels
        if row.split == "test":
            sequestered.extend(
                SequesteredLabel(
                    version=version,
                    image_id=row.image_id,
                    case_code=row.case_code,
                    label=name,
                    value=value,
                )
                for name, value in labels.items()
            )
    ReleaseImage.objects.bulk_create(rows, batch_size=BATCH)
    SequesteredLabel.objects.bulk_create(sequestered, batch_size=BATCH)
    changes = _changelog(version, rows, labels_of)
    ReleaseChange.objects.bulk_create(changes, batch_size=BATCH)

    frame = manifest.manifest_frame(
        (_manifest_row(row, labels_of[row.image_id]) for row in rows), label_names
    )
    version.stats = _stats(version, plan_, rows, changes)
    version.image_count = len(rows)
    meta = meta_of(version, plan_.label_definitions)
    files: list[tuple[str, bytes, str, str]] = []
    buffer = io.BytesIO()
    manifest.write_csv(frame, buffer)
    files.append(("manifest.csv", buffer.getvalue(), "csv", "text/csv"))
    buffer = io.BytesIO()
    manifest.write_parquet(frame, buffer)
    files.append(("manifest.parquet", buffer.getvalue(), "parquet", "application/x-parquet"))
    del frame, buffer
    files.append(
        (
            "datasheet.md",
            datasheet.datasheet_markdown(meta, version.stats).encode(),
            "md",
            "text/markdown",
        )
    )
    files.append(("LICENSE.txt", licence_text(version).encode(), "txt", "text/plain"))
    entries = []
    for path, data, extension, encoding in files:
        blob = _file_blob(data, extension)
        ReleaseFile.objects.create(
            version=version,
            path=path,
            blob=blob,
            sha256=blob.sha256,
            bytes=blob.bytes,
            encoding=encoding,
        )
        entries.append(croissant.FileEntry(path, blob.sha256, blob.bytes, encoding))
    image_bytes = sum(row.bytes for row in rows)
    metadata = croissant.croissant_json(
        croissant.croissant_metadata(meta, entries, len(rows), image_bytes)
    )
    blob = _file_blob(metadata, "json")
    ReleaseFile.objects.create(
        version=version,
        path="croissant.json",
        blob=blob,
        sha256=blob.sha256,
        bytes=blob.bytes,
        encoding="application/ld+json",
    )
    version.total_bytes = image_bytes + sum(e.bytes for e in entries) + blob.bytes


def licence_text(version: ReleaseVersion) -> str:
    lines = [
        f"{version.release.title} {version.version}",
        "",
        f"Licence: {version.licence_name}",
    ]
    if version.licence_url:
        lines.append(version.licence_url)
    lines += [
        "",
        "Access is governed by a data use agreement with the Cervical Image Bank: use limited to",
        "the approved project, no onward sharing, no attempt to re-identify anyone.",
        "",
        "How to cite:",
        version.citation,
        "",
    ]
    return "\n".join(lines)
