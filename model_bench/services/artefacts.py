"""A job's artefacts: stored privately under their SHA-256, one row each (model_bench.models.
JobArtefact), replaced when a restarted job writes them again; and the training curves' picture.
"""

import json

from django.db import transaction

from imagebank import storage
from model_bench.models import BenchmarkJob, JobArtefact

CONTENT_TYPES = {
    "pt": "application/octet-stream",
    "pkl": "application/octet-stream",
    "onnx": "application/octet-stream",
    "json": "application/json",
    "png": "image/png",
}


def store(job: BenchmarkJob, name: str, data: bytes) -> JobArtefact:
    extension = name.rsplit(".", 1)[-1].lower()
    stored = storage.store_bytes(data, extension, prefix="benchmark")
    with transaction.atomic():
        artefact, _created = JobArtefact.objects.update_or_create(
            job=job,
            name=name,
            defaults={
                "storage_key": stored.key,
                "sha256": stored.sha256,
                "bytes": stored.byte_size,
                "content_type": CONTENT_TYPES.get(extension, "application/octet-stream"),
            },
        )
    return artefact


def store_json(job: BenchmarkJob, name: str, value) -> JobArtefact:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return store(job, name, text.encode("utf-8"))


def read(artefact: JobArtefact) -> bytes:
    return storage.read_bytes(artefact.storage_key)


def curves_png(history: dict[str, list[dict]], rows: list[dict], title: str) -> bytes:
    """The training curves (loss per epoch of each network, training and validation) and, for
    binary classification, the case-level ROC curve of each row: one PNG, no metadata."""
    from model_bench.services.pictures import png_of, pyplot

    plt = pyplot()
    rocs = [
        row
        for row in rows
        if row.get("level") == "case" and row.get("roc") and row["roc"].get("fpr")
    ]
    panels = 1 + (1 if rocs else 0)
    figure, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.2), squeeze=False)
    losses = axes[0][0]
    for name, epochs in history.items():
        epochs = [e for e in epochs if isinstance(e, dict) and "epoch" in e]
        if not epochs:
            continue
        x = [e["epoch"] for e in epochs]
        if any("train_loss" in e for e in epochs):
            losses.plot(x, [e.get("train_loss") for e in epochs], label=f"{name} train")
        if any("val_loss" in e for e in epochs):
            losses.plot(x, [e.get("val_loss") for e in epochs], "--", label=f"{name} validation")
    losses.set_xlabel("epoch")
    losses.set_ylabel("loss")
    losses.set_title(title)
    if losses.has_data():
        losses.legend(fontsize=7)
    if rocs:
        roc = axes[0][1]
        for row in rocs:
            roc.plot(row["roc"]["fpr"], row["roc"]["tpr"], label=row["model"])
        roc.plot([0, 1], [0, 1], ":", color="grey")
        roc.set_xlabel("1 − specificity")
        roc.set_ylabel("sensitivity")
        roc.set_title("ROC, case level")
        roc.legend(fontsize=7)
    return png_of(figure)
