"""The project's configuration: settings, the root URL conf, the Celery app, WSGI and ASGI.

It sits above every app and composes them; no app imports from here (the Celery app is reached
through `celery.shared_task` and Django's settings through `django.conf.settings`).
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
