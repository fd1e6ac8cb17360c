"""Celery tasks of access_requests: thin wrappers that take primary keys, lock the row, check its
state, and import the service they call inside the task function (routes in queues.py).
"""

from celery import shared_task


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def end_expired_grants() -> int:
    """Record the grants past their expiry as expired and take their permissions back (Celery
    beat, hourly). Access itself already stops at the expiry instant: can_download compares the
    expiry, whether or not this has run."""
    from access_requests.services import grants

    return grants.expire_grants()


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def send_grant_reminders() -> int:
    """Mail the month and week reminders before a grant expires, once each (Celery beat)."""
    from access_requests.services import grants

    return grants.send_reminders()
