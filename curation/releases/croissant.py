"""A release version's Croissant 1.0 metadata (croissant.json), the ML dataset description format.

Croissant (https://docs.mlcommons.org/croissant/docs/croissant-spec.html) is schema.org's Dataset
plus a description of the files (distribution) and of the records they hold (recordSet), so that
a loader such as mlcroissant or TensorFlow Datasets can read a release without custom code. Here
the record set "images" reads one record per manifest row from manifest.csv and joins each row's
`path` to the JPEG of the same relative path in the "images" file set.

Every path in the document is relative to the folder that holds croissant.json (the release's
root), so a downloaded release is read from disk; nothing names a remote URL except the
catalogue page (`url`) and the licence, which loaders never fetch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from curation.releases.manifest import MANIFEST_COLUMNS

CROISSANT_CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
MANIFEST_CSV = "manifest.csv"
IMAGE_FILE_SET_ID = "image-files"
IMAGE_RECORD_SET_ID = "images"
IMAGE_GLOB = "images/**/*.jpg"

# The @context of the Croissant 1.0 specification, key for key, with the two keys the 1.0
# revision added (samplingRate, equivalentProperty): mlcroissant warns that a context is "not
# standard" when a key of its own is missing.
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "samplingRate": "cr:samplingRate",
    "equivalentProperty": "cr:equivalentProperty",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

# What each fixed manifest column holds, for the record set's field descriptions.
_COLUMN_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "image_id": ("sc:Text", "The image's identifier in this release (not the bank's id)."),
    "path": ("sc:Text", "The JPEG's path inside the release, e.g. images/train/<case>/<file>."),
    "sha256": ("sc:Text", "SHA-256 of the JPEG file, in hexadecimal."),
    "bytes": ("sc:Integer", "Size of the JPEG file in bytes."),
    "width": ("sc:Integer", "Width in pixels (empty when unknown)."),
    "height": ("sc:Integer", "Height in pixels (empty when unknown)."),
    "case": ("sc:Text", "The examination's code in this release."),
    "subject": ("sc:Text", "The subject's code in this release; one subject is in one split."),
    "site": ("sc:Text", "The contributing site's slug."),
    "step": ("sc:Text", "The examination step the image shows (e.g. after acetic acid)."),
    "order": ("sc:Integer", "The image's position within its case's sequence."),
    "split": ("sc:Text", "train, validation or test."),
}


@dataclass(frozen=True)
class ReleaseMeta:
    """What the files of one release version say about it (Croissant, datasheet, BibTeX)."""

    slug: str
    version: str
    title: str
    description: str
    licence_name: str
    licence_url: str
    citation: str
    url: str  # the release version's public catalogue page (absolute)
    published: str | None  # ISO date, None before publication
    publisher: str  # "Cervical Image Bank"
    keywords: tuple[str, ...]
    label_classes: dict[str, tuple[str, ...]]  # label name -> its class values, in order
    label_titles: dict[str, str]  # label name -> human title
    changelog_summary: str = ""


@dataclass(frozen=True)
class FileEntry:
    """One file of the release besides the images, with its checksum."""

    path: str  # inside the release: "manifest.csv", "manifest.parquet", "datasheet.md", ...
    sha256: str
    bytes: int
    encoding: str  # MIME type: "text/csv", "application/x-parquet", "text/markdown", ...


def _organisation(name: str) -> dict[str, str]:
    return {"@type": "sc:Organization", "name": name}


def _file_object(entry: FileEntry) -> dict[str, Any]:
    return {
        "@type": "cr:FileObject",
        "@id": entry.path,
        "name": entry.path,
        "contentUrl": entry.path,
        "contentSize": f"{entry.bytes} B",
        "encodingFormat": entry.encoding,
        "sha256": entry.sha256,
    }


def _image_file_set(image_count: int, image_bytes: int) -> dict[str, Any]:
    # A FileSet has no checksum of its own: each JPEG's SHA-256 is in the manifest.
    return {
        "@type": "cr:FileSet",
        "@id": IMAGE_FILE_SET_ID,
        "name": "images",
        "description": (
            f"The release's {image_count} JPEG images ({image_bytes} bytes in all), "
            "under images/<split>/<case>/. Each one's SHA-256 is in the manifest."
        ),
        "encodingFormat": "image/jpeg",
        "includes": IMAGE_GLOB,
    }


def _csv_field(column: str, data_type: str, description: str) -> dict[str, Any]:
    return {
        "@type": "cr:Field",
        "@id": f"{IMAGE_RECORD_SET_ID}/{column}",
        "name": column,
        "description": description,
        "dataType": data_type,
        "source": {"fileObject": {"@id": MANIFEST_CSV}, "extract": {"column": column}},
    }


def _path_join_field(description: str) -> dict[str, Any]:
    """The field that joins each JPEG of the file set to its manifest row.

    The JPEG's path relative to the release root (the file set's "fullpath") equals the row's
    "path". The join is written from the file set's side, with a whole-string regex, because
    mlcroissant 1.1 gives fullpath as a path object and only a transform of the joining field's
    own source turns it into text that can equal the CSV's strings; a join written from the
    CSV's side silently matches nothing (every image empty). Records therefore come in the
    order of the JPEGs' paths.
    """
    return {
        "@type": "cr:Field",
        "@id": f"{IMAGE_RECORD_SET_ID}/path",
        "name": "path",
        "description": description,
        "dataType": "sc:Text",
        "source": {
            "fileSet": {"@id": IMAGE_FILE_SET_ID},
            "extract": {"fileProperty": "fullpath"},
            "transform": {"regex": "^(.*)$"},
        },
        "references": {"fileObject": {"@id": MANIFEST_CSV}, "extract": {"column": "path"}},
    }


def _label_description(meta: ReleaseMeta, name: str) -> str:
    title = meta.label_titles.get(name, name)
    classes = meta.label_classes.get(name, ())
    values = f" One of: {', '.join(classes)}." if classes else ""
    return f"{title}.{values} Empty when missing, and always empty in the test split."


def _record_set(meta: ReleaseMeta) -> dict[str, Any]:
    fields = []
    for column in MANIFEST_COLUMNS:
        data_type, description = _COLUMN_DESCRIPTIONS[column]
        if column == "path":
            fields.append(_path_join_field(description))
        else:
            fields.append(_csv_field(column, data_type, description))
    for name in meta.label_classes:
        fields.append(_csv_field(name, "sc:Text", _label_description(meta, name)))
    fields.append(
        {
            "@type": "cr:Field",
            "@id": f"{IMAGE_RECORD_SET_ID}/image",
            "name": "image",
            "description": "The image itself (JPEG).",
            "dataType": "sc:ImageObject",
            "source": {
                "fileSet": {"@id": IMAGE_FILE_SET_ID},
                "extract": {"fileProperty": "content"},
            },
        }
    )
    return {
        "@type": "cr:RecordSet",
        "@id": IMAGE_RECORD_SET_ID,
        "name": "images",
        "description": (
            "One record per image: the manifest's columns, one column per label, and the image."
        ),
        "key": {"@id": f"{IMAGE_RECORD_SET_ID}/image_id"},
        "field": fields,
    }


def croissant_metadata(
    meta: ReleaseMeta, files: Sequence[FileEntry], image_count: int, image_bytes: int
) -> dict:
    """The Croissant 1.0 JSON-LD of one release version, keys in a fixed order.

    files must include manifest.csv, which the record set reads. Label fields follow
    meta.label_classes' order, which is the manifest's label column order.
    """
    paths = [entry.path for entry in files]
    if MANIFEST_CSV not in paths:
        raise ValueError(f"The release's files must include {MANIFEST_CSV}.")
    if len(set(paths)) != len(paths):
        raise ValueError("A release file is listed twice.")
    description = meta.description
    if meta.changelog_summary:
        description = f"{description}\n\nChanges in {meta.version}: {meta.changelog_summary}"
    metadata: dict[str, Any] = {
        "@context": dict(CROISSANT_CONTEXT),
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_CONFORMS_TO,
        "name": meta.title,
        "alternateName": meta.slug,
        "description": description,
        "license": {"@type": "sc:CreativeWork", "name": meta.licence_name, "url": meta.licence_url},
        "url": meta.url,
        "citeAs": meta.citation,
        "version": meta.version,
    }
    if meta.published:
        metadata["datePublished"] = meta.published
    metadata["keywords"] = list(meta.keywords)
    metadata["publisher"] = _organisation(meta.publisher)
    metadata["creator"] = _organisation(meta.publisher)
    metadata["isAccessibleForFree"] = False
    metadata["distribution"] = [_file_object(entry) for entry in files]
    metadata["distribution"].append(_image_file_set(image_count, image_bytes))
    metadata["recordSet"] = [_record_set(meta)]
    return metadata


def croissant_json(metadata: dict) -> bytes:
    """The document as UTF-8 JSON: keys in their given order, indent 2, a final newline."""
    return (json.dumps(metadata, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
