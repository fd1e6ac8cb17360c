"""Read queries of dataset releases, filtered by who asks.

The public catalogue (anyone, signed in or not) sees published versions only, and of them only
metadata: description, counts and label distributions per split and site, changelog counts,
citation, licence, size, files' checksums; never an image, a case or a label value of an image.
Curators see every version in any state.
"""

import re

from django.db.models import Count, QuerySet

from curation.models import LabelDefinition, Release, ReleaseFile, ReleaseState, ReleaseVersion
from curation.models.releases import SEMVER
from curation.releases import datasheet
from curation.services.release_build import meta_of
from curation.services.releases import can_manage_releases

SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")


def published_versions() -> QuerySet[ReleaseVersion]:
    """Every published version, newest release version first within each release."""
    return (
        ReleaseVersion.objects.filter(state=ReleaseState.PUBLISHED)
        .select_related("release")
        .order_by("release__slug", "-major", "-minor", "-patch")
    )


def public_version(slug: str, version: str) -> ReleaseVersion | None:
    """A published version by its slug and version, or None (unpublished ones are not public)."""
    if not isinstance(slug, str) or not isinstance(version, str):
        return None
    # Anything that is not a slug or a semantic version is nobody's release (and a NUL would
    # be an error in PostgreSQL, not a miss).
    if not SLUG.match(slug) or not SEMVER.match(version):
        return None
    return published_versions().filter(release__slug=slug, version=version).first()


def other_versions(version: ReleaseVersion) -> QuerySet[ReleaseVersion]:
    return published_versions().filter(release=version.release).exclude(pk=version.pk)


def public_files(version: ReleaseVersion) -> QuerySet[ReleaseFile]:
    """The version's files other than images (manifest, metadata, datasheet, licence): their
    paths, sizes and checksums are public; their content is downloaded under a grant."""
    return ReleaseFile.objects.filter(version=version).order_by("path")


def catalogue_entry(version: ReleaseVersion) -> dict:
    """What the catalogue page and GET /api/releases/{slug}/{version}/ show of a version."""
    stats = version.stats or {}
    definitions = list(LabelDefinition.objects.filter(name__in=version.label_names))
    meta = meta_of(version, definitions)
    return {
        "slug": version.release.slug,
        "title": version.release.title,
        "version": version.version,
        "description": version.description,
        "published_at": version.published_at,
        "licence": {"name": version.licence_name, "url": version.licence_url},
        "citation": version.citation,
        "bibtex": datasheet.bibtex(meta),
        "images": version.image_count,
        "bytes": version.total_bytes,
        "labels": [
            {"name": d.name, "title": d.title, "description": d.description}
            for d in sorted(definitions, key=lambda d: version.label_names.index(d.name))
        ],
        "splits": stats.get("splits", {}),
        "label_distribution": stats.get("labels", {}),
        "sites": stats.get("sites", {}),
        "steps": stats.get("steps", {}),
        "changelog": stats.get("changelog", []),
        "changelog_note": version.changelog_note,
        "files": [
            {"path": f.path, "sha256": f.sha256, "bytes": f.bytes, "encoding": f.encoding}
            for f in public_files(version)
        ],
    }


def datasheet_text(version: ReleaseVersion) -> str:
    """The datasheet, as the build wrote it (Markdown)."""
    from curation.services.releases import read_file

    return read_file(version, "datasheet.md").decode("utf-8")


def curator_releases(user) -> QuerySet[Release]:
    """Every release with its number of versions, for curators; nothing for anyone else."""
    if not can_manage_releases(user):
        return Release.objects.none()
    return Release.objects.annotate(version_count=Count("versions")).order_by("slug")


def curator_versions(user, release: Release | None = None) -> QuerySet[ReleaseVersion]:
    if not can_manage_releases(user):
        return ReleaseVersion.objects.none()
    versions = ReleaseVersion.objects.select_related("release")
    if release is not None:
        versions = versions.filter(release=release)
    return versions.order_by("release__slug", "-major", "-minor", "-patch")


def curator_version(user, slug: str, version: str) -> ReleaseVersion | None:
    if not SLUG.match(slug or "") or not SEMVER.match(version or ""):
        return None
    return curator_versions(user).filter(release__slug=slug, version=version).first()


def label_definitions() -> QuerySet[LabelDefinition]:
    return LabelDefinition.objects.filter(active=True).order_by("position", "name")
