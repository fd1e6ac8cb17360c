"""`manage.py import_masks PATH --kind cervix|lesion|scj [--site SLUG] [--replace] [--json]
[--user EMAIL]`: import segmentation masks from a folder of PNGs named after their images
(curation.services.masks). Prints each file that was not imported and a summary (--json: the
whole report as JSON); exits with status 1 when any file failed, after importing the others."""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from curation.models.reviews import OutlineKind
from curation.services.masks import MaskImportError, MaskImportReport, import_masks
from imagebank.models import Site


class Command(BaseCommand):
    help = (
        "Import cervix, lesion or SCJ masks from a folder of PNGs named Case-NNN_<image>.png or "
        "<image>.png; masks of another size than their image are rescaled (nearest neighbour)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="a folder of PNG masks, or one PNG")
        parser.add_argument("--kind", required=True, choices=OutlineKind.values)
        parser.add_argument("--site", help="only match images of this site (its slug)")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="replace an image's existing mask of this kind when the pixels differ",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print the report as JSON"
        )
        parser.add_argument("--user", help="record this curator as the importer (email)")

    def handle(self, *args, path, kind, site, replace, as_json, user, **options):
        site_obj = None
        if site:
            site_obj = Site.objects.filter(slug=site).first()
            if site_obj is None:
                raise CommandError(f"No site '{site}'.")
        actor = None
        if user:
            actor = get_user_model().objects.filter(email=user).first()
            if actor is None:
                raise CommandError(f"No user {user}.")
        try:
            report = import_masks(path, kind=kind, actor=actor, site=site_obj, replace=replace)
        except (MaskImportError, PermissionDenied) as error:
            raise CommandError(str(error)) from error
        if as_json:
            self.stdout.write(_json(report.as_dict()))
        else:
            self._print(report)
        errors = report.counts["errors"]
        if errors:
            raise CommandError(
                _("%(n)s of %(total)s files could not be imported.")
                % {"n": errors, "total": len(report.files)}
            )

    def _print(self, report: MaskImportReport) -> None:
        for line in report.problems:
            self.stdout.write(f"{line.status.upper():8} {line.message}")
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(kind)s masks: %(imported)s imported, %(replaced)s replaced, "
                    "%(unchanged)s unchanged, %(skipped)s skipped, %(errors)s errors."
                )
                % {"kind": report.kind, **report.counts}
            )
        )


def _json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
