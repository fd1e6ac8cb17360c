"""The public catalogue of dataset releases: the list of published releases, a version's page and
its datasheet (docs/releases.md). Open to anyone, signed in or not.

Published versions only (an unknown, draft or built version is a 404), and of them metadata only:
the counts curation.release_selectors.catalogue_entry gives (per split, label, site and step), the
changelog's counts, citation, licence, size and the files' checksums; never an image, a case or
one image's label.
"""

import logging
from itertools import groupby

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from curation import release_selectors as selectors
from curation.models import ChangeKind, ReleaseVersion
from curation.models.releases import SPLIT_CHOICES
from curation.releases.splits import SPLITS
from imagebank import vocabularies as vocab

logger = logging.getLogger("curation.releases")

MISSING = "missing"  # the stats' key for a case without a value (curation.releases.datasheet)


def _public_or_404(slug: str, version: str) -> ReleaseVersion:
    found = selectors.public_version(slug, version)
    if found is None:
        raise Http404(_("No published release version has this name."))
    return found


def split_columns() -> list[dict]:
    titles = dict(SPLIT_CHOICES)
    return [{"code": split, "title": titles[split]} for split in SPLITS]


def _rows(table: dict, title_of=lambda key: key) -> list[dict]:
    """{key: {split: n}} as rows of the splits' counts, with each row's total."""
    rows = []
    for key in sorted(table):
        counts = [int((table[key] or {}).get(split, 0)) for split in SPLITS]
        rows.append({"key": key, "title": title_of(key), "counts": counts, "total": sum(counts)})
    return rows


def label_tables(entry: dict) -> list[dict]:
    """One table per label: its values as rows (missing last), the splits as columns."""
    titles = {label["name"]: label["title"] for label in entry["labels"]}
    tables = []
    for name, per_split in entry["label_distribution"].items():
        values = sorted(
            {value for split in SPLITS for value in (per_split.get(split) or {})},
            key=lambda value: (value == MISSING, value),
        )
        rows = []
        for value in values:
            counts = [int((per_split.get(split) or {}).get(value, 0)) for split in SPLITS]
            title = _("missing") if value == MISSING else value
            rows.append({"key": value, "title": title, "counts": counts, "total": sum(counts)})
        tables.append({"name": name, "title": titles.get(name, name), "rows": rows})
    return tables


def _change_kind(kind: str) -> str:
    try:
        return ChangeKind(kind).label
    except ValueError:
        return kind


def version_context(version: ReleaseVersion) -> dict:
    """What the public page and the curators' page of a built version show."""
    entry = selectors.catalogue_entry(version)
    split_rows = [
        {
            "code": column["code"],
            "title": column["title"],
            **entry["splits"].get(column["code"], {}),
        }
        for column in split_columns()
    ]
    return {
        "version": version,
        "entry": entry,
        "split_columns": split_columns(),
        "split_rows": split_rows,
        "label_tables": label_tables(entry),
        "site_rows": _rows(entry["sites"]),
        "step_rows": _rows(entry["steps"], vocab.EXAMINATION_STEP.label),
        "changelog": [
            {
                "kind": _change_kind(line.get("kind", "")),
                "count": line.get("count", 0),
                "why": line.get("why", ""),
            }
            for line in entry["changelog"]
        ],  # fmt: skip
    }


@require_safe
def catalogue(request: HttpRequest) -> HttpResponse:
    """Every published release with its published versions (newest first); the release
    published most recently first."""
    versions = list(selectors.published_versions())
    releases = []
    for _slug, group in groupby(versions, key=lambda v: v.release.slug):
        group = list(group)
        releases.append({"release": group[0].release, "versions": group})
    releases.sort(key=lambda item: max(v.published_at for v in item["versions"]), reverse=True)
    return render(request, "curation/release_catalogue.html", {"releases": releases})


@require_safe
def version_page(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    found = _public_or_404(slug, version)
    context = version_context(found)
    context["other_versions"] = list(selectors.other_versions(found))
    return render(request, "curation/release_version.html", context)


def _datasheet_or_none(version: ReleaseVersion) -> str | None:
    try:
        return selectors.datasheet_text(version)
    except (FileNotFoundError, OSError, ValidationError, UnicodeDecodeError):
        # A published file that cannot be read, or no longer matches its SHA-256: the audit
        # (audit_release) reports it to the curators; the public is told it is unavailable.
        logger.exception("release %s: datasheet.md cannot be read", version.label)
        return None


@require_safe
def datasheet_page(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    """The datasheet's Markdown as text (escaped, wrapped): no Markdown renderer is installed,
    and the text is the build's own file, shown as researchers download it."""
    found = _public_or_404(slug, version)
    text = _datasheet_or_none(found)
    return render(
        request,
        "curation/release_datasheet.html",
        {"version": found, "text": text},
        status=200 if text is not None else 503,
    )


@require_safe
def datasheet_markdown(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    found = _public_or_404(slug, version)
    text = _datasheet_or_none(found)
    if text is None:
        raise Http404(_("The datasheet cannot be read at the moment."))
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    filename = f"{found.release.slug}-{found.version}-datasheet.md"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
