"""`manage.py similar FILE [FILE …] [--json] [--radius N]`: is this image already in the bank?

Each file is read and prepared as the bank would store it (checked, de-identified; nothing is
stored), then looked up by the SHA-256 of the file as sent and as it would be stored (exact) and
by its perceptual hash (near: within the radius in force, curation.checks.defaults "duplicate").
`--json` prints a list with one entry per file given, in order:
`{"file": "<the path as given>", "matches": [{"image", "case", "site", "original_filename",
"original_sha256", "kind": "exact|near", "distance"}]}`; a file that cannot be read or is not an
image the bank accepts has `"error"` (what is wrong) instead of `"matches"`, and the others are
still looked up. The command exits 0 whatever it found (docs/near-duplicates.md).
"""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from curation import fingerprints
from curation.checks.duplicate_check import bank_radius
from imagebank import outages
from imagebank.imaging.results import InvalidImage


def look_up(path: str, radius: int) -> dict:
    """The entry of one file: its matches, or what kept it from being looked up."""
    entry: dict = {"file": path}
    try:
        file = Path(path)
        if file.stat().st_size > settings.MAX_UPLOAD_BYTES:
            entry["error"] = (
                f"{file.name} is larger than the {settings.MAX_UPLOAD_BYTES // (1024 * 1024)} MB "
                "the bank accepts."
            )
            return entry
        data = file.read_bytes()
        matches = fingerprints.matches_for_file(data, filename=file.name, radius=radius)
    except OSError as error:
        entry["error"] = f"cannot be read: {error.strerror or error}"
    except InvalidImage as error:
        entry["error"] = str(error)
    except Exception as error:  # noqa: BLE001 - a decoder's failure on one file: say so, go on
        if outages.is_transient(error):
            raise
        entry["error"] = f"cannot be decoded: {type(error).__name__}: {error}"
    else:
        entry["matches"] = [m.as_dict() for m in matches]
    return entry


class Command(BaseCommand):
    help = "Look files on disk up in the bank (exact and near duplicates), without storing them."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--json", action="store_true", help="print the answer as JSON")
        parser.add_argument(
            "--radius",
            type=int,
            help="the largest perceptual-hash distance that counts as near "
            "(default: the bank's near_radius)",
        )

    def handle(self, *args, **options):
        radius = options["radius"]
        if radius is None:
            radius = bank_radius()
        elif not 0 <= radius <= fingerprints.HASH_BITS:
            raise CommandError(f"--radius must be 0 to {fingerprints.HASH_BITS}.")
        entries = [look_up(path, radius) for path in options["files"]]
        if options["json"]:
            self.stdout.write(json.dumps(entries, indent=2))
            return
        for entry in entries:
            self.stdout.write(self._table(entry, radius))

    def _table(self, entry: dict, radius: int) -> str:
        if "error" in entry:
            return f"{entry['file']}: error: {entry['error']}"
        matches = entry["matches"]
        if not matches:
            return f"{entry['file']}: not in the bank (no exact match, none within {radius})"
        rows = [("kind", "distance", "image", "case", "site", "original file", "SHA-256")]
        rows += [
            (
                m["kind"],
                str(m["distance"]),
                str(m["image"]),
                str(m["case"]),
                m["site"],
                m["original_filename"] or "-",
                m["original_sha256"][:16] or "-",
            )
            for m in matches
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [f"{entry['file']}: {len(matches)} match{'es' if len(matches) > 1 else ''}"]
        lines += [
            "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        return "\n".join(lines)
