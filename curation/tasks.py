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
    # A release of 100,000 images reads and hashes each once: hours on a slow store, not days.
    time_limit=6 * 3600,
    soft_time_limit=6 * 3600 - 120,
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


@shared_task(acks_late=True, time_limit=6 * 3600, soft_time_limit=6 * 3600 - 120)
def audit_releases() -> dict:
    """Re-hash every stored file of every published release (Celery beat, daily by default)."""
    from curation.services import releases

    audits = releases.audit_published()
    return {"audited": len(audits), "failed": sum(not audit.ok for audit in audits)}
