"""`manage.py index_fingerprints [--limit N] [--rebuild]`: fill the near-duplicate index.

Without options, every image without a fingerprint of the current procedure is indexed (images
stored before the index existed, or by a door that does not run the checks); `--rebuild` hashes
every image again. The duplicate check indexes the image it checks and the other images of its
case; this command backfills the rest of the bank (docs/near-duplicates.md).
"""

from django.core.management.base import BaseCommand

from curation import fingerprints
from curation.models import ImageFingerprint


class Command(BaseCommand):
    help = "Index the perceptual hash of every image not yet in the near-duplicate index."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, metavar="N", help="index at most N images")
        parser.add_argument(
            "--rebuild", action="store_true", help="hash every image again, indexed or not"
        )

    def handle(self, *args, **options):
        if options["rebuild"]:
            # Marked as of no procedure: index_missing hashes them all again, the index still
            # answering from the old hashes meanwhile.
            ImageFingerprint.objects.update(algorithm="")

        def failed(image, error) -> None:
            self.stderr.write(f"image {image.pk}: not indexed: {type(error).__name__}: {error}")

        report = fingerprints.index_missing(options["limit"], on_error=failed)
        left = fingerprints.images_to_index().count()
        self.stdout.write(
            f"{report.indexed} images indexed, {report.failed} could not be read; "
            f"{left} left without a fingerprint"
        )
