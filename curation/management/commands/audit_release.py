"""`manage.py audit_release SLUG@VERSION`: re-hash every stored file of a release version and
report any file changed or lost (exit status 1 if any)."""

from django.core.management.base import BaseCommand, CommandError

from curation.management.release_arguments import version_of
from curation.services.releases import audit_version


class Command(BaseCommand):
    help = "Re-hash every stored file of a release version; report changes and losses."

    def add_arguments(self, parser):
        parser.add_argument("release", metavar="SLUG@VERSION")

    def handle(self, *args, release, **options):
        version = version_of(release)
        audit = audit_version(version)
        for path in audit.missing:
            self.stdout.write(f"MISSING {path}")
        for path in audit.changed:
            self.stdout.write(f"CHANGED {path}")
        summary = (
            f"{version.release.slug}@{version.version}: {audit.files_checked} files checked, "
            f"{len(audit.missing)} missing, {len(audit.changed)} changed"
        )
        if not audit.ok:
            raise CommandError(summary)
        self.stdout.write(summary + ": all match their SHA-256.")
