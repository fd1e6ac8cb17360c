"""The Celery application: Redis at scale, kombu's filesystem transport on one machine.

Every task is an imagebank.durable.DurableTask: acknowledged late, given back when its worker
dies, outages retried with backoff, failures kept for the operations page.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config", task_cls="imagebank.durable:DurableTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
