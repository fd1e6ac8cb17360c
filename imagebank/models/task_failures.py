from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskFailure(models.Model):
    """A background task that ended in an error, for the curators' operations page.

    Written by imagebank.durable when a task fails for good (its retries spent, or an error that is
    not an outage). Only the task, the object's id and the type and first line of the error are
    kept: tasks receive ids, never clinical content.
    """

    task = models.CharField(_("task"), max_length=200)
    object_id = models.CharField(_("object"), max_length=100, blank=True)
    error_type = models.CharField(_("error"), max_length=200)
    message = models.CharField(_("message"), max_length=500, blank=True)
    # DATABASE, BROKER, CACHE or STORAGE (imagebank.outages) when an outage caused it.
    service = models.CharField(_("service out"), max_length=20, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.task} {self.object_id}: {self.error_type}"
