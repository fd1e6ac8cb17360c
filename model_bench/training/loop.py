"""The training loop every reference network uses: AdamW, seeded data order, the best epoch on
the validation split kept (early stopping), progress reported and cancellation honoured between
batches.
"""

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from model_bench.training.data import batches


class Cancelled(Exception):
    """The job was cancelled: raised by a progress callback, stops training at once."""


# progress(fraction of this training done, message): may raise Cancelled.
Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    return None


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 0  # epochs without a better validation loss before stopping; 0: never stop
    device: str = "cpu"
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def fit(
    network: nn.Module,
    *,
    n_train: int,
    train_step: Callable[[nn.Module, object], torch.Tensor],
    validate: Callable[[nn.Module], dict] | None,
    config: TrainConfig,
    progress: Progress = no_progress,
    generator: torch.Generator | None = None,
) -> list[dict]:
    """Train `network` in place and return its history, one dict per epoch.

    `train_step(network, index)` computes the loss of one batch (index: a NumPy array of training
    indices); `validate(network)` returns at least {"val_loss": float} in eval mode. The weights
    of the epoch with the lowest validation loss are restored at the end (the last epoch's without
    validation).
    """
    if generator is None:
        generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.AdamW(
        network.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    history: list[dict] = []
    best_loss, best_state, stale = float("inf"), None, 0
    steps_per_epoch = max(1, -(-n_train // config.batch_size))
    total = config.epochs * steps_per_epoch
    done = 0
    for epoch in range(1, config.epochs + 1):
        started = time.monotonic()
        network.train()
        running, seen = 0.0, 0
        for index in batches(n_train, config.batch_size, generator):
            optimiser.zero_grad(set_to_none=True)
            loss = train_step(network, index)
            loss.backward()
            optimiser.step()
            running += float(loss.detach()) * len(index)
            seen += len(index)
            done += 1
            progress(done / total, f"epoch {epoch}/{config.epochs}")
        row = {"epoch": epoch, "train_loss": running / max(seen, 1)}
        if validate is not None:
            network.eval()
            with torch.no_grad():
                row.update(validate(network))
        row["seconds"] = round(time.monotonic() - started, 3)
        history.append(row)
        current = row.get("val_loss", row["train_loss"])
        if current < best_loss:
            best_loss, stale = current, 0
            best_state = copy.deepcopy(network.state_dict())
        else:
            stale += 1
            if config.patience and stale >= config.patience:
                break
    if best_state is not None and validate is not None:
        network.load_state_dict(best_state)
    network.eval()
    return history
