"""`manage.py export_release SLUG@VERSION --out DIR`: write exactly what a researcher's download
holds (manifest.csv, manifest.parquet, the images at the manifest's paths, croissant.json,
datasheet.md, LICENSE.txt, an agreement placeholder) into DIR, for delivery on a disk."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from curation.management.release_arguments import version_of
from curation.services.releases import export_version


class Command(BaseCommand):
    help = "Export a built or published release version into a folder."

    def add_arguments(self, parser):
        parser.add_argument("release", metavar="SLUG@VERSION")
        parser.add_argument("--out", type=Path, required=True, metavar="DIR")

    def handle(self, *args, release, out, **options):
        version = version_of(release)
        try:
            written = export_version(version, out)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(
            f"{version.release.slug}@{version.version}: {written['files']} files "
            f"({written['images']} images, {written['bytes']} bytes) written to {out}"
        )
