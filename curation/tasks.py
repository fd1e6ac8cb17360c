"""Celery tasks of curation: thin wrappers that take primary keys, lock the row, check its state,
and import the service they call inside the task function (routes in queues.py).
"""

from celery import shared_task


@shared_task(bind=True, max_retries=5, time_limit=120, soft_time_limit=90)
def send_notice_mail(self, notice_id: int) -> str:
    """Mail one notice (curation.services.notices.mail_notice); a mail server that fails is tried
    again with a growing wait (1, 2, 4, 8, 16 minutes), then left to the reconciler."""
    from curation.services import notices

    try:
        return "sent" if notices.mail_notice(notice_id) else "skipped"
    except notices.MailNotSent as error:
        raise self.retry(exc=error, countdown=60 * 2**self.request.retries) from error


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=5,
    # Under the worker's warm-shutdown grace (docker-compose: 30 minutes) and the broker's
    # visibility timeout, as every task (tests/test_worker_settings.py). 100,000 synthetic images
    # build in under a minute (bench/releases.py), but a first release whose new image bytes
    # take longer than this to copy fails after its attempts (docs/releases.md, "Limits").
    time_limit=28 * 60,
    soft_time_limit=27 * 60,
)
def build_release(self, version_id: int) -> str:
    """Build one queued release version (curation.services.releases.build_version). A definition
    that takes nothing, or a bank file that no longer matches its hash, fails the version with
    the reason; an outage (database, storage) is retried, and the reconciler takes up a build
    whose worker died."""
    from django.core.exceptions import ValidationError

    from curation.services import releases

    try:
        version = releases.build_version(version_id)
    except ValidationError:
        return "failed"
    except Exception as error:  # an outage: try again a little later
        raise self.retry(exc=error, countdown=60 * 2**self.request.retries) from error
    return "built" if version is not None else "skipped"


@shared_task(acks_late=True, time_limit=28 * 60, soft_time_limit=27 * 60)
def audit_releases() -> dict:
    """Re-hash every stored file of every published release (Celery beat, daily by default)."""
    from curation.services import releases

    audits = releases.audit_published()
    return {"audited": len(audits), "failed": sum(not audit.ok for audit in audits)}
