"""A release version's datasheet (datasheet.md) and its BibTeX entry.

The datasheet follows "Datasheets for Datasets" (Gebru et al., 2021): it tells a researcher what
is in the release, how it was gathered and checked, and what it should not be used for. It is a
file inside the dataset, like a README, so it is written in English and not translated.

Everything it states about the data comes from aggregate counts (`stats`): never a per-image or
per-case value, so the test split's label distribution may appear while its labels stay
sequestered. The limitations are derived from the same counts wherever they can be (small
sites, missing labels, class imbalance, a single country), so they stay true release after
release. The output is deterministic: tables list splits in SPLITS order, label values in the
release's class order, and everything else sorted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from curation.releases.croissant import ReleaseMeta
from curation.releases.manifest import SPLITS

MISSING = "missing"
VERDICTS = ("pass", "warn", "fail", "error")

# A site below this share of the release's cases is named as small (its images may not be
# enough to learn or to evaluate that site's devices and population).
SMALL_SITE_SHARE = 0.05
# A label missing for more than this share of the cases is named as often missing.
MANY_MISSING_SHARE = 0.2
# A label whose most frequent class is this many times its rarest one is named as imbalanced.
IMBALANCE_RATIO = 3.0

SECTION_TITLES = (
    "Motivation",
    "Composition",
    "Collection process",
    "Preprocessing and de-identification",
    "Quality checks and review",
    "Known limitations and biases",
    "Uses to avoid",
    "Distribution",
    "Maintenance",
    "Citation",
    "Licence",
)

_CHANGE_KINDS = {
    "added": "cases added",
    "removed": "cases removed",
    "relabelled": "cases relabelled",
    "image_excluded": "images excluded",
}


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = [
        "| " + " | ".join(_cell(title) for title in header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines


def _count(mapping: Mapping[str, Any] | None, key: str) -> int:
    if not mapping:
        return 0
    return int(mapping.get(key) or 0)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def _split_table(kind: str, per_split: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Rows (sorted names) by splits, with a total column and a total row."""
    if not per_split:
        return [f"No {kind} recorded."]
    rows = []
    totals = dict.fromkeys(SPLITS, 0)
    for name in sorted(per_split):
        counts = [_count(per_split[name], split) for split in SPLITS]
        for split, number in zip(SPLITS, counts, strict=True):
            totals[split] += number
        rows.append([name, *counts, sum(counts)])
    rows.append(["total", *totals.values(), sum(totals.values())])
    return _table([kind, *SPLITS, "total"], rows)


def _label_values(meta: ReleaseMeta, label: str, per_split: Mapping[str, Mapping]) -> list[str]:
    """The release's class values in their order, then any other value seen, then missing."""
    values = list(meta.label_classes.get(label, ()))
    seen = {value for counts in per_split.values() for value in (counts or {})}
    values += sorted(seen - set(values) - {MISSING})
    return [*values, MISSING]


def _label_names(meta: ReleaseMeta, stats: dict) -> list[str]:
    names = list(meta.label_classes)
    return names + sorted(set(stats.get("labels") or {}) - set(names))


def _label_totals(per_split: Mapping[str, Mapping]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for counts in per_split.values():
        for value, number in (counts or {}).items():
            totals[value] = totals.get(value, 0) + int(number or 0)
    return totals


def _motivation(meta: ReleaseMeta) -> list[str]:
    return [
        meta.description.strip(),
        "",
        f"{meta.publisher} gathers colposcopy and visual inspection with acetic acid (VIA) "
        "images contributed by clinical sites, checks each examination for eligibility and "
        "quality, and freezes them into versioned releases with leakage-free splits, so that "
        "methods for cervical cancer screening can be developed and compared on the same data.",
    ]


def _composition(meta: ReleaseMeta, stats: dict) -> list[str]:
    splits = stats.get("splits") or {}
    rows = []
    for split in SPLITS:
        counts = splits.get(split) or {}
        rows.append([split, *(_count(counts, key) for key in ("cases", "subjects", "images"))])
    rows.append(["total", *(sum(row[column] for row in rows) for column in (1, 2, 3))])
    lines = [
        "Each instance is one image of one examination (case) of one subject. The images of "
        "a case, and all cases of a subject, are in one split; cases whose images are exact or "
        "near duplicates of each other are kept in one split too.",
        "",
        "### Counts per split",
        "",
        *_table(["split", "cases", "subjects", "images"], rows),
        "",
        "### Label distribution per split",
        "",
        "Counts of cases per label value. The test split's labels are not in the files "
        "(they are kept back to score benchmark submissions); only these totals are published.",
    ]
    labels = stats.get("labels") or {}
    names = _label_names(meta, stats)
    if not names:
        lines += ["", "This release has no labels."]
    for name in names:
        per_split = labels.get(name) or {}
        title = meta.label_titles.get(name, name)
        value_rows = []
        for value in _label_values(meta, name, per_split):
            counts = [_count(per_split.get(split), value) for split in SPLITS]
            value_rows.append([value, *counts, sum(counts)])
        lines += ["", f"#### {title} (`{name}`)", ""]
        lines += _table(["value", *SPLITS, "total"], value_rows)
    lines += ["", "### Cases per site and split", ""]
    lines += _split_table("site", stats.get("sites") or {})
    lines += ["", "### Images per examination step and split", ""]
    lines += _split_table("step", stats.get("steps") or {})
    return lines


def _years(stats: dict) -> str:
    years = list(stats.get("exam_years") or [])
    if not years:
        return "The examination dates are not recorded in this release."
    first, last = min(years), max(years)
    if first == last:
        return f"The examinations took place in {first}."
    return f"The examinations took place between {first} and {last}."


def _countries(stats: dict) -> str:
    countries = sorted(stats.get("countries") or [])
    if not countries:
        return "The contributing sites' countries are not recorded."
    if len(countries) == 1:
        return f"The contributing sites are in one country: {countries[0]}."
    return f"The contributing sites are in {len(countries)} countries: {', '.join(countries)}."


def _collection(stats: dict) -> list[str]:
    sites = len(stats.get("sites") or {})
    return [
        "The images are colposcopy and VIA images taken during cervical cancer screening "
        "and diagnostic examinations in screening programmes. Contributors (colposcopists "
        "at the participating sites) upload each examination as a sequence of images (before "
        "acetic acid or with saline, after acetic acid, with the green filter, after Lugol's "
        "iodine) with its clinical metadata, through the web portal, the API, case packages, "
        "DICOM or an import of an existing image bank.",
        "",
        f"{sites} site(s) contributed to this release. {_countries(stats)} {_years(stats)}",
    ]


def _preprocessing() -> list[str]:
    return [
        "- Image metadata (EXIF, XMP, IPTC, DICOM tags that could identify a person) is "
        "stripped when an image is ingested; the images are otherwise unchanged.",
        "- Patient identifiers never reach the bank: local patient IDs are replaced by keyed-hash "
        "pseudonyms at ingest, and in this release every subject, case and image has a code "
        "made for this release only (s-…, c-…, i-…), so the bank's own pseudonyms and ids are "
        "not in any file and codes cannot be matched across releases.",
        "- Original file names are never kept: each image is stored under its SHA-256 and "
        "named in the release by its step and position.",
        "- Ages are recorded instead of birth dates.",
        "- Each image's SHA-256 is in the manifest, and each release file's SHA-256 is in "
        "croissant.json, so a download can be verified.",
    ]


def _quality(stats: dict) -> list[str]:
    checks = stats.get("checks") or {}
    lines = [
        "Every image went through the bank's automated quality checks; a reviewer (an expert "
        "colposcopist) then confirmed the quality flags, step labels and clinical labels of "
        "each case and accepted it, and disagreements between reviewers were adjudicated.",
        "",
        "### Automated check verdicts",
        "",
    ]
    if checks:
        rows = [
            [name, *(_count(checks[name], verdict) for verdict in VERDICTS)]
            for name in sorted(checks)
        ]
        lines += _table(["check", *VERDICTS], rows)
    else:
        lines.append("No check results recorded.")
    reviews = stats.get("reviews") or {}
    lines += [
        "",
        "### Reviews",
        "",
        *_table(
            ["reviews", "reviewers", "adjudicated cases", "images excluded"],
            [
                [
                    _count(reviews, "reviews"),
                    _count(reviews, "reviewers"),
                    _count(reviews, "adjudicated"),
                    int(stats.get("excluded_images") or 0),
                ]
            ],
        ),
    ]
    return lines


def _site_limitations(stats: dict) -> list[str]:
    sites = stats.get("sites") or {}
    cases = {site: sum(_count(sites[site], split) for split in SPLITS) for site in sites}
    total = sum(cases.values())
    if not total:
        return []
    if len(cases) == 1:
        only = next(iter(cases))
        return [
            f"All cases come from one site ({only}): models may learn that site's devices, "
            "lighting and population and not transfer to others."
        ]
    small = sorted(site for site, number in cases.items() if number / total < SMALL_SITE_SHARE)
    if not small:
        return []
    named = ", ".join(f"{site} ({cases[site]} cases)" for site in small)
    return [
        f"Sites with few cases (under {SMALL_SITE_SHARE:.0%} of the release each): {named}. "
        "Results for these sites' devices and populations rest on few examples."
    ]


def _label_limitations(meta: ReleaseMeta, stats: dict) -> list[str]:
    lines = []
    labels = stats.get("labels") or {}
    for name in _label_names(meta, stats):
        totals = _label_totals(labels.get(name) or {})
        overall = sum(totals.values())
        if not overall:
            continue
        title = meta.label_titles.get(name, name)
        missing = totals.get(MISSING, 0)
        if missing / overall > MANY_MISSING_SHARE:
            lines.append(
                f"{title} (`{name}`) is missing for {missing} of {overall} cases "
                f"({_percent(missing, overall)}); a model trained on the labelled cases only "
                "may not represent the unlabelled ones."
            )
        classes = list(meta.label_classes.get(name, ())) or sorted(set(totals) - {MISSING})
        absent = [value for value in classes if not totals.get(value)]
        if absent:
            lines.append(f"{title} (`{name}`) has no case with the value(s): {', '.join(absent)}.")
        present = {value: totals[value] for value in classes if totals.get(value)}
        if len(present) >= 2:
            largest = max(present, key=lambda value: (present[value], value))
            rarest = min(present, key=lambda value: (present[value], value))
            ratio = present[largest] / present[rarest]
            if ratio >= IMBALANCE_RATIO:
                lines.append(
                    f"{title} (`{name}`) is imbalanced: {largest} ({present[largest]} cases) "
                    f"is {ratio:.1f} times as frequent as {rarest} ({present[rarest]} cases); "
                    "report per-class metrics, not accuracy alone."
                )
    return lines


def _limitations(meta: ReleaseMeta, stats: dict) -> list[str]:
    derived = _site_limitations(stats) + _label_limitations(meta, stats)
    countries = sorted(stats.get("countries") or [])
    if len(countries) == 1:
        derived.append(
            f"All data comes from one country ({countries[0]}): populations, screening "
            "practice and equipment elsewhere may differ."
        )
    excluded = int(stats.get("excluded_images") or 0)
    if excluded:
        derived.append(
            f"{excluded} image(s) of the included cases were left out of the release, so some "
            "cases lack steps of their sequence."
        )
    fixed = [
        "The cases come from screening programmes and referral clinics, not from a random "
        "sample of a population: the prevalence of lesions is not a population's prevalence.",
        "Colposcopic and VIA impressions are expert judgements and vary between observers; "
        "histology, where given, is the reference, but it is not available for every case.",
        "Image quality, devices, magnification and lighting differ between sites and years.",
    ]
    return [f"- {line}" for line in derived + fixed]


def _uses_to_avoid() -> list[str]:
    return [
        "- Clinical diagnosis or treatment decisions, or any use on patients, without a "
        "prospective clinical validation and the regulatory approval that the setting requires.",
        "- Any attempt to re-identify subjects, to link images to people or to other records, "
        "or to match codes across releases.",
        "- Training or evaluating on the test split's labels by any means other than the "
        "benchmark's scoring, or choosing models on the test split.",
        "- Claims of performance for populations, devices or settings the data does not cover "
        "(see the limitations above).",
        "- Redistribution of the images or the manifest outside the terms of the data use "
        "agreement under which access was granted.",
    ]


def _distribution(meta: ReleaseMeta) -> list[str]:
    published = (
        f"It was published on {meta.published}." if meta.published else "It is not yet published."
    )
    return [
        f"This is version {meta.version} of the release `{meta.slug}`, described at "
        f"<{meta.url}>. {published}",
        "",
        "The release is distributed by the bank to research groups whose access request was "
        "approved under a data use agreement; each download is logged. It holds the images "
        "(`images/<split>/<case>/`), manifest.csv and manifest.parquet (one row per image: its "
        "code, path, checksum, size, case, subject, site, step, split and labels), this "
        "datasheet, the licence, and croissant.json (Croissant 1.0 metadata with every file's "
        "checksum, readable with mlcroissant).",
    ]


def _maintenance(meta: ReleaseMeta, stats: dict) -> list[str]:
    lines = [
        f"{meta.publisher} maintains the release. A published version is never changed: "
        "corrections (relabelled cases, withdrawn consent, excluded images) go into a new "
        "version with a changelog, so results stay reproducible on the version they used.",
    ]
    if meta.changelog_summary:
        lines += ["", f"Changes in this version: {meta.changelog_summary}"]
    changelog = stats.get("changelog") or []
    if changelog:
        rows = [
            [
                _CHANGE_KINDS.get(entry.get("kind", ""), entry.get("kind", "")),
                int(entry.get("count") or 0),
                entry.get("why") or "",
            ]
            for entry in changelog
        ]
        lines += ["", *_table(["change", "count", "why"], rows)]
    else:
        lines += ["", "No changes from a previous version are recorded."]
    return lines


def datasheet_markdown(meta: ReleaseMeta, stats: dict) -> str:
    """The release version's datasheet, as Markdown (the sections in SECTION_TITLES)."""
    bodies = {
        "Motivation": _motivation(meta),
        "Composition": _composition(meta, stats),
        "Collection process": _collection(stats),
        "Preprocessing and de-identification": _preprocessing(),
        "Quality checks and review": _quality(stats),
        "Known limitations and biases": _limitations(meta, stats),
        "Uses to avoid": _uses_to_avoid(),
        "Distribution": _distribution(meta),
        "Maintenance": _maintenance(meta, stats),
        "Citation": [
            meta.citation.strip(),
            "",
            "```bibtex",
            bibtex(meta).rstrip("\n"),
            "```",
        ],
        "Licence": [
            f"{meta.licence_name} (<{meta.licence_url}>). The full text is in LICENSE.txt; "
            "the data use agreement under which access was granted applies as well.",
        ],
    }
    lines = [f"# Datasheet: {meta.title} (version {meta.version})", ""]
    for title in SECTION_TITLES:
        lines += [f"## {title}", "", *bodies[title], ""]
    return "\n".join(lines).rstrip("\n") + "\n"


_BIBTEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
}
_BIBTEX_SPECIAL = re.compile("|".join(re.escape(char) for char in _BIBTEX_ESCAPES))


def bibtex_escape(text: str) -> str:
    """Text for a BibTeX field: LaTeX's special characters escaped, whitespace collapsed."""
    text = " ".join(text.split())
    return _BIBTEX_SPECIAL.sub(lambda match: _BIBTEX_ESCAPES[match.group()], text)


def bibtex_key(meta: ReleaseMeta) -> str:
    """<slug>_<version with "_">, e.g. "via-2026_1_0_0"; other characters become "_"."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{meta.slug}_{meta.version}")


def bibtex(meta: ReleaseMeta) -> str:
    """One @misc entry for the release version (no year before publication)."""
    # A URL is not LaTeX text: it is kept as is, save braces, which would unbalance the entry.
    url = meta.url.replace("{", "%7B").replace("}", "%7D")
    fields = [
        # The inner braces keep the title's capitals as written.
        ("title", "{" + bibtex_escape(meta.title) + "}"),
        ("author", "{" + bibtex_escape(meta.publisher) + "}"),
        ("publisher", bibtex_escape(meta.publisher)),
    ]
    if meta.published:
        fields.append(("year", meta.published[:4]))
    fields += [("version", bibtex_escape(meta.version)), ("url", url)]
    if meta.citation.strip():
        fields.append(("note", bibtex_escape(meta.citation)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{bibtex_key(meta)},\n{body}\n}}\n"
