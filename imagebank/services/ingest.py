from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from imagebank.ingest.sources import ingest_paths
from imagebank.models import IngestRun, Site
from imagebank.permissions import can_contribute_to, require
from imagebank.services.sites import add_site_member

# The account that command-line imports act as when no user is named: it cannot sign in, and it
# contributes only to the sites it has imported into, so the audit trail names the import.
IMPORTER_EMAIL = "data-import@system.invalid"


def importer_for(site: Site):
    user, created = get_user_model().objects.get_or_create(
        email=IMPORTER_EMAIL, defaults={"full_name": "Data import (command line)"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not can_contribute_to(user, site):
        add_site_member(site=site, user=user)
    return user


def run_ingest(*, site: Site, actor, paths: list[Path], source_name: str = "") -> IngestRun:
    """Import files, folders or ZIPs into a site, keeping the report with the run.

    Each case is written in its own transaction (see ingest.writer), so the run is not atomic: a
    failure midway leaves the cases before it stored and the report saying so.
    """
    require(can_contribute_to(actor, site), _("You do not contribute to this site."))
    run = IngestRun.objects.create(
        site=site, started_by=actor, source_name=(source_name or ", ".join(map(str, paths)))[:500]
    )
    try:
        report = ingest_paths([Path(p) for p in paths], site=site, actor=actor)
    except Exception:
        run.status = IngestRun.Status.FAILED
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at"])
        raise
    report.source = run.source_name
    run.report = report.to_dict()
    run.status = IngestRun.Status.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["report", "status", "finished_at"])
    return run
