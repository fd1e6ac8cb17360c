"""The bank's core: sites, memberships, subjects, cases, images, vocabularies and storage."""

from .celery import app as celery_app

__all__ = ["celery_app"]
