"""Reads a JSON manifest, checked against schemas/case-package.schema.json.

Rows are the 1-based position of an image in its case's `images` list; `field` names the JSON
path (`cases[0].images[1].file`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from imagebank.ingest.report import Level

from .checks import image_entry, too_long
from .entries import CaseEntry, Manifest, ManifestError, join
from .metadata import clean_metadata, integer

# The schema sits beside this package, in imagebank/ingest/schemas (shipped as package data).
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "case-package.schema.json"


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _value in pairs]
    if len(set(keys)) != len(keys):
        repeated = next(key for key in keys if keys.count(key) > 1)
        # json.loads would silently keep the last one: the author meant one of them.
        raise ManifestError(_("Key “%(key)s” appears twice in one object.") % {"key": repeated})
    return dict(pairs)


def _no_constant(name: str) -> None:
    raise ManifestError(_("%(value)s is not a JSON value.") % {"value": name})


def _path(parts: Any) -> str:
    where = ""
    for part in parts:
        where = join(where, part)
    return where


def _schema_messages(error: Any) -> list[tuple[str, str]]:
    """(field, message) in the bank's words for one jsonschema error."""
    where, kind, value = _path(error.absolute_path), error.validator, error.validator_value
    instance = error.instance
    if kind == "required":
        names = [n for n in value if isinstance(instance, dict) and n not in instance]
        return [(join(where, n), _("Required: this field is missing.")) for n in names]
    if kind == "additionalProperties":
        known = error.schema.get("properties", {})
        return [
            (join(where, n), _("Unknown field “%(field)s”.") % {"field": n})
            for n in instance
            if n not in known
        ]
    words = {"string": _("text"), "integer": _("a whole number"), "array": _("a list")}
    words |= {"object": _("an object"), "boolean": _("true or false"), "null": _("null")}
    messages = {
        "type": lambda: (
            _("Must be %(type)s.")
            % {
                "type": _(" or ").join(
                    words.get(t, t) for t in ([value] if isinstance(value, str) else value)
                )
            }
        ),
        "minimum": lambda: _("Must be at least %(limit)s.") % {"limit": value},
        "maximum": lambda: _("Must be at most %(limit)s.") % {"limit": value},
        "minLength": lambda: _("Must not be empty."),
        "maxLength": lambda: too_long(value),
        "pattern": lambda: _("Must not be blank."),
        "minItems": lambda: _("Give at least %(limit)s.") % {"limit": value},
        "maxItems": lambda: _("More than %(limit)s entries.") % {"limit": value},
        "const": lambda: _("Must be %(value)s.") % {"value": json.dumps(value)},
    }
    return [(where, messages[kind]() if kind in messages else error.message)]


def parse_json_text(text: str) -> Manifest:
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
        errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    except ManifestError:
        raise
    except json.JSONDecodeError as error:
        raise ManifestError(
            _("Not valid JSON: %(error)s (line %(line)s, column %(column)s).")
            % {"error": error.msg, "line": error.lineno, "column": error.colno}
        ) from None
    except (ValueError, RecursionError) as error:  # absurd numbers or nesting
        raise ManifestError(_("Not valid JSON: %(error)s.") % {"error": error}) from None
    whole = [e for e in errors if len(e.absolute_path) < 2]
    if whole:
        found = "; ".join(
            dict.fromkeys(  # one "required" error per missing key would repeat each
                f"{where or 'manifest'}: {message}"
                for e in whole[:5]
                for where, message in _schema_messages(e)
            )
        )
        raise ManifestError(_("Not a case-package manifest: %(problems)s") % {"problems": found})

    manifest, cases = Manifest(), document["cases"]

    def reference(i: int) -> str:
        case_id = cases[i].get("case_id") if isinstance(cases[i], dict) else None
        return case_id.strip() if isinstance(case_id, str) and case_id.strip() else f"cases[{i}]"

    invalid, bad_images, bad_metadata, reported = set(), set(), set(), set()
    for error in errors:
        i, rest = error.absolute_path[1], list(error.absolute_path)[2:]
        if rest[:1] == ["images"] and len(rest) > 1:
            bad_images.add((i, rest[1]))
        else:
            invalid.add(i)
            if rest[:1] == ["metadata"] and len(rest) > 1:
                bad_metadata.add((i, rest[1]))
            elif rest == ["metadata"] and error.validator == "additionalProperties":
                known = error.schema.get("properties", {})
                bad_metadata.update((i, n) for n in error.instance if n not in known)
        row = rest[1] + 1 if rest[:1] == ["images"] and len(rest) > 1 else None
        for where, message in _schema_messages(error):
            if (where, message) not in reported:
                reported.add((where, message))
                manifest.add(Level.ERROR, message, row=row, field=where, case=reference(i))

    ids: dict[str, str] = {}
    seen: dict[str, str] = {}
    for i, raw in enumerate(cases):
        where, ref = f"cases[{i}]", reference(i)
        entry = CaseEntry(ref, "", metadata_valid=i not in invalid)
        manifest.cases.append(entry)
        if not isinstance(raw, dict):
            continue
        patient = raw.get("local_patient_id")
        entry.local_patient_id = patient.strip() if isinstance(patient, str) else ""
        if ref in ids:
            manifest.add(
                Level.ERROR,
                _("Case id “%(case)s” is already used by %(other)s: this case is not imported.")
                % {"case": ref, "other": ids[ref]},
                field=join(where, "case_id"),
                case=ref,
            )
            entry.metadata_valid = False
        ids.setdefault(ref, where)
        metadata = raw.get("metadata")
        if isinstance(metadata, dict):
            given = {k: v for k, v in metadata.items() if (i, k) not in bad_metadata}
            entry.metadata, notes = clean_metadata(given)
            for level, name, message in notes:
                manifest.add(level, message, field=f"{where}.metadata.{name}", case=ref)
                entry.metadata_valid &= level != Level.ERROR
        images = raw.get("images")
        for j, image in enumerate(images if isinstance(images, list) else []):
            if (i, j) in bad_images or not isinstance(image, dict):
                continue
            item = image_entry(
                manifest,
                seen,
                file=image["file"],
                step=image.get("step") or "",
                order=integer(image.get("order")),
                capture_device=image.get("capture_device") or "",
                row=j + 1,
                where=f"{where}.images[{j}]",
                case=ref,
            )
            if item:
                entry.images.append(item)
    return manifest
