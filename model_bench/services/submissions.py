"""Submissions to a benchmark task by a research group that holds a grant on its release version
(issue 15): receiving them (who may, the limits, the file stored), scoring them in a worker, and
the reconciler that takes up a submission whose message was lost or whose worker died.

Who may submit: a user named on a live grant that covers the task's version (curation.hooks
.grant_holders, which access_requests answers); the submission is the group's. Limits, per group
and task: BENCHMARK_SUBMISSIONS_PER_DAY in any 24 hours and BENCHMARK_SUBMISSIONS_PER_TASK in all
(the test phase's limit, so that the test split cannot be probed by many submissions); an invalid
submission counts toward neither. The file is stored first (private storage, under its SHA-256),
then the row, in one transaction holding the task's lock (two submissions at once cannot both
pass a limit); the worker is sent after the commit. Scoring is on the `scoring` queue: a
predictions CSV is checked (model_bench.services.predictions) and scored by evaluation, the
only reader of the test labels; an invalid file is recorded as invalid with its errors.
"""

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from curation import hooks
from imagebank import storage
from imagebank.reconcile import Backlog, Outcome
from model_bench.lifecycle import can_transition_submission
from model_bench.models import (
    BenchmarkTask,
    Submission,
    SubmissionEvent,
    SubmissionKind,
    SubmissionState,
)
from model_bench.services import predictions

# What a model card holds: the submitter fills it in; the board shows it.
MODEL_CARD_TEXT = ("architecture", "training_data", "settings", "training_time")
MODEL_CARD_URLS = ("code_url", "paper_url")
# Every field of the card, as the form, the API and the CLI name them.
MODEL_CARD_FIELDS = (*MODEL_CARD_TEXT, "parameters", *MODEL_CARD_URLS)
MODEL_CARD_LIMIT = 2000  # characters per text field
TITLE_LIMIT = 120


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def per_day() -> int:
    return _setting("BENCHMARK_SUBMISSIONS_PER_DAY", 3)


def per_task() -> int:
    return _setting("BENCHMARK_SUBMISSIONS_PER_TASK", 30)


def lease() -> timedelta:
    return timedelta(seconds=_setting("BENCHMARK_SCORING_LEASE_SECONDS", 600))


def max_attempts() -> int:
    return _setting("BENCHMARK_SCORING_MAX_ATTEMPTS", 3)


def accepted_kinds(task: BenchmarkTask) -> tuple[str, ...]:
    """The kinds of file a task scores: its own kind of results, or an ONNX model."""
    results = SubmissionKind.MASKS if task.is_segmentation else SubmissionKind.PREDICTIONS
    return (results, SubmissionKind.ONNX)


def kind_of(task: BenchmarkTask, file_name: str, kind: str = "") -> str:
    """The kind named, or else the one the file's name says (.onnx, .zip, .csv), or else the
    task's own kind of results (a CSV of predictions, a ZIP of masks)."""
    if kind:
        return kind
    suffix = (file_name or "").rsplit(".", 1)[-1].lower()
    by_suffix = {"onnx": SubmissionKind.ONNX, "zip": SubmissionKind.MASKS,
                 "csv": SubmissionKind.PREDICTIONS}  # fmt: skip
    return by_suffix.get(suffix) or accepted_kinds(task)[0]


def max_bytes(kind: str) -> int:
    """The largest file of a kind (settings SUBMISSION_MAX_CSV_BYTES, _ZIP_, _ONNX_)."""
    from model_bench.services import masks, onnx_models

    if kind == SubmissionKind.ONNX:
        return onnx_models.Limits.from_settings().max_bytes
    if kind == SubmissionKind.MASKS:
        return masks.max_bytes()
    return predictions.max_bytes()


def read_upload(task: BenchmarkTask, upload) -> bytes:
    """An uploaded file's bytes, at most one more than the largest file the task takes: submit
    refuses what is too large for its kind, without the rest being read."""
    largest = max(max_bytes(kind) for kind in accepted_kinds(task))
    return upload.read(largest + 1)


STORED_AS = {SubmissionKind.PREDICTIONS: "csv", SubmissionKind.MASKS: "zip",
             SubmissionKind.ONNX: "onnx"}  # fmt: skip


def clean_model_card(card: dict | None) -> dict:
    """The model card's known fields, trimmed; links must be http(s) URLs, the number of
    parameters a whole number. Unknown fields are dropped."""
    card = card or {}
    if not isinstance(card, dict):
        raise ValidationError({"model_card": _("The model card is a set of named fields.")})
    clean: dict = {}
    for name in MODEL_CARD_TEXT:
        value = str(card.get(name) or "").strip()
        if len(value) > MODEL_CARD_LIMIT:
            raise ValidationError({name: _("At most %(n)s characters.") % {"n": MODEL_CARD_LIMIT}})
        if value:
            clean[name] = value
    for name in MODEL_CARD_URLS:
        value = str(card.get(name) or "").strip()
        if value:
            try:
                URLValidator(schemes=["http", "https"])(value)
            except ValidationError:
                raise ValidationError({name: _("Give an http or https link.")}) from None
            clean[name] = value
    parameters = card.get("parameters")
    if parameters not in (None, ""):
        try:
            count = int(str(parameters).replace(",", "").replace("_", "").strip())
        except ValueError:
            count = -1
        if count < 0:
            raise ValidationError({"parameters": _("The number of parameters is a whole number.")})
        clean["parameters"] = count
    return clean


def _file_name(name: str) -> str:
    """The base name the file came with, without folders or control characters, for display."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()
    return base[:200] or "predictions.csv"


def holders_for(user, task: BenchmarkTask) -> list[hooks.GrantHolder]:
    if not (user and user.is_authenticated and user.is_active):
        return []
    return hooks.grant_holders(user, task.version)


def may_submit(user, task: BenchmarkTask) -> bool:
    return bool(holders_for(user, task))


def _counted(task: BenchmarkTask, group_key: str):
    return Submission.objects.filter(task=task, group_key=group_key).exclude(
        state=SubmissionState.INVALID
    )


def limits_left(task: BenchmarkTask, group_key: str, now: datetime | None = None) -> dict:
    """{"today": n, "in_all": n, "next_at": datetime | None}: what the group may still submit."""
    now = now or timezone.now()
    day = _counted(task, group_key).filter(created_at__gt=now - timedelta(days=1))
    today = per_day() - day.count()
    oldest = day.aggregate(m=Min("created_at"))["m"]
    return {
        "today": max(0, today),
        "in_all": max(0, per_task() - _counted(task, group_key).count()),
        "next_at": oldest + timedelta(days=1) if today <= 0 and oldest else None,
    }


def submit(
    *,
    task: BenchmarkTask,
    user,
    data: bytes,
    file_name: str,
    title: str,
    kind: str = "",
    group_key: str = "",
    model_card: dict | None = None,
) -> Submission:
    """Receive a submission: checked (who, which group, the kind, the size, the title, the model
    card, the limits), its file stored, its row written, the worker sent after the commit. The
    same file again from the same group gives back the earlier submission (unless it was
    invalid or failed)."""
    holders = holders_for(user, task)
    if not holders:
        raise PermissionDenied(
            _("Only members named on a live grant of this task's release version submit to it.")
        )
    holder = next((h for h in holders if h.key == group_key), None) if group_key else holders[0]
    if holder is None:
        raise ValidationError({"group": _("You hold no grant on this release through that group.")})
    kind = kind_of(task, file_name, kind)
    if kind not in accepted_kinds(task):
        results = SubmissionKind(accepted_kinds(task)[0]).label
        raise ValidationError(
            {"file": _("This task takes %(results)s or an ONNX model.") % {"results": results}}
        )
    if len(data) > max_bytes(kind):
        limit = max_bytes(kind) // (1024 * 1024)
        raise ValidationError(
            {"file": _("The file is larger than %(limit)s MB.") % {"limit": limit}}
        )
    if not data:
        raise ValidationError({"file": _("The file is empty.")})
    title = re.sub(r"\s+", " ", title or "").strip()
    if not title:
        raise ValidationError({"title": _("Give the submission a title.")})
    if len(title) > TITLE_LIMIT:
        raise ValidationError({"title": _("At most %(n)s characters.") % {"n": TITLE_LIMIT}})
    card = clean_model_card(model_card)
    stored = storage.store_bytes(data, STORED_AS[kind], prefix="submissions")
    with transaction.atomic():
        BenchmarkTask.objects.select_for_update().filter(pk=task.pk).first()
        # The same file again from the same group (a retried upload whose answer was lost) is
        # the same submission: nothing is counted twice.
        same = _counted(task, holder.key).exclude(state=SubmissionState.FAILED)
        earlier = same.filter(file_sha256=stored.sha256).order_by("pk").first()
        if earlier is not None:
            return earlier
        left = limits_left(task, holder.key)
        if left["in_all"] <= 0:
            raise ValidationError(
                _("Your group has made the %(n)s submissions this task allows.") % {"n": per_task()}
            )
        if left["today"] <= 0:
            raise ValidationError(
                _("Your group has made %(n)s submissions to this task in the last 24 hours; the "
                  "next is possible from %(at)s (UTC).")
                % {"n": per_day(), "at": left["next_at"].strftime("%Y-%m-%d %H:%M")}
            )  # fmt: skip
        submission = Submission.objects.create(
            task=task, submitter=user, group_key=holder.key, group_name=holder.name[:200],
            kind=kind, title=title, file_key=stored.key, file_sha256=stored.sha256,
            file_bytes=stored.byte_size, file_name=_file_name(file_name), model_card=card,
            queued_at=timezone.now(),
        )  # fmt: skip
        SubmissionEvent.objects.create(
            submission=submission, from_state="", to_state=SubmissionState.RECEIVED
        )
        transaction.on_commit(lambda: _send(submission.pk, kind))
    return submission


def _send(submission_id: int, kind: str) -> None:
    """To the scoring queue (main workers); an ONNX model to the benchmark queue, whose workers
    have onnxruntime and the CPU to spare."""
    from imagebank.durable import send_task
    from model_bench.tasks import run_submitted_model, score_submission

    send_task(
        run_submitted_model if kind == SubmissionKind.ONNX else score_submission, submission_id
    )


def transition(
    submission_id: int, from_state: str, to_state: str, *, note: str = "", **fields
) -> bool:
    """Move the submission from `from_state` to `to_state` if it is still in `from_state` (a
    worker and the reconciler never undo each other); the fields are written with it."""
    if not can_transition_submission(from_state, to_state):
        raise ValueError(f"a submission cannot go from {from_state} to {to_state}")
    if to_state in (SubmissionState.SCORED, SubmissionState.INVALID, SubmissionState.FAILED):
        fields.setdefault("finished_at", timezone.now())
    with transaction.atomic():
        moved = Submission.objects.filter(pk=submission_id, state=from_state).update(
            state=to_state, **fields
        )
        if moved:
            SubmissionEvent.objects.create(
                submission_id=submission_id, from_state=from_state, to_state=to_state,
                note=note[:500],
            )  # fmt: skip
    return bool(moved)


def claim(submission_id: int) -> Submission | None:
    """Start scoring on this worker, or None: finished, or being scored by a live worker. A
    submission whose worker died is started again, or failed once its attempts are spent."""
    now = timezone.now()
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None or submission.is_finished:
            return None
        alive = submission.heartbeat_at and submission.heartbeat_at > now - lease()
        if submission.state == SubmissionState.SCORING and alive:
            return None
        if submission.attempts >= max_attempts():
            reason = _("Scoring stopped %(n)s times; it was not started again.") % {
                "n": submission.attempts
            }
            transition(submission.pk, submission.state, SubmissionState.FAILED, note=reason,
                       failure=reason[:500])  # fmt: skip
            return None
        if submission.state == SubmissionState.RECEIVED:
            transition(submission.pk, SubmissionState.RECEIVED, SubmissionState.SCORING)
        Submission.objects.filter(pk=submission.pk).update(
            attempts=submission.attempts + 1, started_at=now, heartbeat_at=now
        )
        submission.refresh_from_db()
    return submission


def score(submission_id: int) -> str:
    """The worker's scoring of one submission; what happened, in a word. An outage (storage,
    database) raises, leaving the submission to be scored again."""
    from model_bench.services import leaderboard, onnx_models

    submission = claim(submission_id)
    if submission is None:
        return "skipped"
    task = BenchmarkTask.objects.select_related("version").get(pk=submission.task_id)
    try:
        data = storage.read_bytes(submission.file_key)
    except Exception:  # storage is out: received again, and the task retries it
        transition(submission.pk, SubmissionState.SCORING, SubmissionState.RECEIVED,
                   note="storage unavailable", queued_at=timezone.now())  # fmt: skip
        raise
    try:
        rows = _scored_rows(task, submission, data)
    except predictions.InvalidPredictions as invalid:
        errors = [error.as_dict() for error in invalid.errors]
        transition(submission.pk, SubmissionState.SCORING, SubmissionState.INVALID, errors=errors)
        return "invalid"
    except (ValidationError, onnx_models.WorkerCannotRun) as error:
        # The task cannot be scored (no labelled test image) or this worker cannot run a model.
        reason = "; ".join(getattr(error, "messages", None) or [str(error)])[:500]
        transition(submission.pk, SubmissionState.SCORING, SubmissionState.FAILED, note=reason,
                   failure=reason)  # fmt: skip
        return "failed"
    kept = ("level", "n_test", "n_cases", "metrics", "confusion_matrix", "roc")
    results = {"rows": [{key: row.get(key) for key in kept} for row in rows]}
    pictures = draw_pictures(task, submission.title, results["rows"])
    if not transition(submission.pk, SubmissionState.SCORING, SubmissionState.SCORED,
                      results=results, errors=[], pictures=pictures):  # fmt: skip
        return "skipped"  # the reconciler took it back meanwhile; its next run scores it
    leaderboard.refresh(task)
    return "scored"


def _scored_rows(task: BenchmarkTask, submission: Submission, data: bytes) -> list[dict]:
    """The submission's file checked (and, for a model, run) and scored by evaluation."""
    from model_bench.services import evaluation, masks, onnx_models

    def beat() -> None:
        Submission.objects.filter(pk=submission.pk).update(heartbeat_at=timezone.now())

    if submission.kind == SubmissionKind.ONNX:
        predicted = onnx_models.predict(task, data, beat=beat)
    elif submission.kind == SubmissionKind.MASKS:
        predicted = masks.parse(task, data)
    else:
        predicted = predictions.parse(task, data)
    if isinstance(predicted, masks.SubmittedMasks):
        return evaluation.score_masks(task, predicted)
    return evaluation.score_predictions(task, predicted)


def draw_pictures(task: BenchmarkTask, title: str, rows: list[dict]) -> dict:
    """The ROC curve (binary tasks) and the confusion matrix of the board's level, stored:
    {name: {"key", "sha256", "bytes"}}."""
    from model_bench.services import pictures
    from model_bench.services.leaderboard import task_level

    row = next((r for r in rows if r.get("level") == task_level(task)), None)
    if row is None:
        return {}
    drawn = {}
    caption = f"{title[:60]} — {task.slug}, {row['level']} level, n = {row.get('n_test')}"
    if (row.get("roc") or {}).get("fpr"):
        auc = ((row.get("metrics") or {}).get("auc") or {}).get("value")
        drawn["roc"] = pictures.roc_png(row["roc"], title=caption, auc=auc)
    if row.get("confusion_matrix"):
        drawn["confusion"] = pictures.confusion_png(
            row["confusion_matrix"], list(task.classes), title=caption
        )
    stored = {}
    for name, png in drawn.items():
        kept = storage.store_bytes(png, "png", prefix="benchmark-pictures")
        stored[name] = {"key": kept.key, "sha256": kept.sha256, "bytes": kept.byte_size}
    return stored


def reconcile_submissions(now: datetime) -> Outcome:
    """Received submissions nobody took within the lease are sent again; those being scored
    whose worker gave no sign of life are received again (or failed once attempts are spent)."""
    outcome = Outcome()
    stale = Submission.objects.filter(
        Q(state=SubmissionState.RECEIVED, queued_at__lt=now - lease())
        | Q(state=SubmissionState.SCORING, heartbeat_at__lt=now - lease())
    ).order_by("pk")
    for submission in stale[:100]:
        if submission.state == SubmissionState.SCORING:
            if submission.attempts >= max_attempts():
                reason = _("Scoring stopped %(n)s times; it was not started again.") % {
                    "n": submission.attempts
                }
                if transition(submission.pk, SubmissionState.SCORING, SubmissionState.FAILED,
                              note=reason, failure=reason[:500]):  # fmt: skip
                    outcome.failed += 1
                continue
            if not transition(submission.pk, SubmissionState.SCORING, SubmissionState.RECEIVED,
                              note=_("its worker had stopped"), queued_at=now):  # fmt: skip
                continue
            outcome.resumed += 1
        else:
            Submission.objects.filter(pk=submission.pk).update(queued_at=now)
            outcome.requeued += 1
        _send(submission.pk, submission.kind)
    return outcome


def submissions_backlog() -> Backlog:
    waiting = Submission.objects.filter(
        state__in=[SubmissionState.RECEIVED, SubmissionState.SCORING]
    )
    return Backlog(count=waiting.count(), oldest=waiting.aggregate(m=Min("created_at"))["m"])
