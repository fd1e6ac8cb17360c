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
