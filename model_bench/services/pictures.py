"""The pictures of a result, drawn server-side with matplotlib (Agg) when the result arrives:
the ROC curve and the confusion matrix of the board's level. PNGs without metadata (the bank
stores no PNG with text chunks: imagebank.imaging.metadata_guard), a few tens of kB each.
"""

import io


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def png_of(figure) -> bytes:
    """The figure as a PNG without metadata; the figure is closed."""
    plt = pyplot()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def roc_png(roc: dict, *, title: str, auc: float | None = None) -> bytes:
    """The ROC curve of {"fpr", "tpr"} points, the chance diagonal, and the AUC in the legend."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(4.2, 4.2))
    label = "ROC" if auc is None else f"ROC (AUC {auc:.3f})"
    axes.plot(roc.get("fpr") or [], roc.get("tpr") or [], label=label, drawstyle="steps-post")
    axes.plot([0, 1], [0, 1], ":", color="grey")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.set_xlabel("1 − specificity")
    axes.set_ylabel("sensitivity")
    axes.set_title(title, fontsize=9)
    axes.legend(loc="lower right", fontsize=8)
    return png_of(figure)


def confusion_png(matrix: list[list[int]], classes: list[str], *, title: str) -> bytes:
    """The confusion matrix (rows true, columns predicted) with its counts in the cells."""
    plt = pyplot()
    size = max(3.6, 1.1 * len(classes) + 1.6)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(matrix, cmap="Blues")
    top = max((max(row) for row in matrix if row), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            colour = "white" if top and count > top / 2 else "black"
            axes.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=10)
    axes.set_xticks(range(len(classes)), labels=classes, rotation=30, ha="right", fontsize=8)
    axes.set_yticks(range(len(classes)), labels=classes, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    return png_of(figure)
