"""A small, honest training loop shared by the lectures, assignments and benchmarks.

>>> from course_utils.metrics import accuracy
>>> history = train(model, train_loader, nn.CrossEntropyLoss(), optimizer,
...                 epochs=5, device=device, clip_norm=1.0, val_loader=val_loader,
...                 metrics={"accuracy": accuracy})
>>> history.last["val_accuracy"]

Batches are ``(inputs, targets)`` or ``(inputs, lengths, targets)`` tuples
(what :func:`course_utils.data.pad_collate` returns); tensors are moved to the
device, and the model is called as ``model(inputs)`` or ``model(inputs, lengths)``.
Anything more unusual is handled by passing ``step_fn``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from course_utils._validate import require_int

__all__ = ["History", "batch_to_device", "default_step", "evaluate", "train"]

Batch = Sequence[Any]
Metric = Callable[[torch.Tensor, torch.Tensor], float]


@dataclass
class History:
    """What happened during training: one dict per epoch.

    Each dict has ``epoch``, ``train_loss``, ``seconds`` (cumulative training
    time), and when a validation loader was given ``val_loss`` plus
    ``val_<metric>`` for every metric.
    """

    epochs: list[dict[str, float]] = field(default_factory=list)

    @property
    def last(self) -> dict[str, float]:
        """The final epoch's record."""
        if not self.epochs:
            raise ValueError("history is empty: train for at least one epoch")
        return self.epochs[-1]

    def as_dict(self) -> dict[str, list[float]]:
        """Column view: ``{"train_loss": [...], "val_loss": [...], ...}``."""
        keys: list[str] = []
        for record in self.epochs:
            keys.extend(k for k in record if k not in keys)
        return {k: [r.get(k, math.nan) for r in self.epochs] for k in keys}


def batch_to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor in a (nested) tuple/list/dict to ``device``.

    Lengths for ``pack_padded_sequence`` must stay on the CPU, so a 1-D int64
    tensor under the key ``"lengths"`` of a dict is left where it is; in tuples
    use :func:`default_step`, which knows the ``(inputs, lengths, targets)`` layout.
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: (v if k == "lengths" else batch_to_device(v, device)) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(batch_to_device(v, device) for v in batch)
    return batch


def default_step(model: nn.Module, batch: Batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the model on one batch and return ``(outputs, targets)``.

    ``(x, y)`` calls ``model(x)``; ``(x, lengths, y)`` calls ``model(x, lengths)``
    with ``lengths`` kept on the CPU.
    """
    if not isinstance(batch, (list, tuple)) or len(batch) not in (2, 3):
        raise ValueError(
            "a batch must be (inputs, targets) or (inputs, lengths, targets); "
            f"got {type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}. "
            "Pass step_fn=... to train() for other layouts"
        )
    if len(batch) == 2:
        x, y = batch
        return model(x.to(device)), y.to(device)
    x, lengths, y = batch
    return model(x.to(device), lengths.cpu()), y.to(device)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable[Batch],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    device: torch.device | str,
    metrics: Mapping[str, Metric] | None = None,
    step_fn: Callable[[nn.Module, Batch, torch.device], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> dict[str, float]:
    """Mean loss and metrics over a loader, weighted by batch size, in eval mode."""
    device = torch.device(device)
    step = step_fn or default_step
    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    sums = {name: 0.0 for name in (metrics or {})}
    for batch in loader:
        outputs, targets = step(model, batch, device)
        size = int(targets.shape[0])
        total += float(loss_fn(outputs, targets)) * size
        for name, fn in (metrics or {}).items():
            sums[name] += fn(outputs, targets) * size
        n += size
    model.train(was_training)
    if n == 0:
        raise ValueError("evaluate() got an empty loader")
    return {"loss": total / n, **{name: s / n for name, s in sums.items()}}


def train(
    model: nn.Module,
    train_loader: Iterable[Batch],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    device: torch.device | str,
    clip_norm: float | None = None,
    val_loader: Iterable[Batch] | None = None,
    metrics: Mapping[str, Metric] | None = None,
    progress: bool = True,
    step_fn: Callable[[nn.Module, Batch, torch.device], tuple[torch.Tensor, torch.Tensor]] | None = None,
    time_limit: float | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    Args:
        model: any module; moved to ``device``.
        train_loader: yields batches (see the module docstring).
        loss_fn: ``loss_fn(outputs, targets) -> scalar tensor``.
        optimizer: built over ``model.parameters()``.
        epochs: number of passes (>= 1).
        device: where to train.
        clip_norm: if set, clip the global gradient norm to this value each step.
        val_loader: if set, evaluated after every epoch (``val_loss``, ``val_<metric>``).
        metrics: ``{"accuracy": accuracy}``-style functions of ``(outputs, targets)``.
        progress: show a ``tqdm.auto`` bar (False silences it).
        step_fn: ``step_fn(model, batch, device) -> (outputs, targets)`` for custom batches.
        time_limit: stop after the epoch during which this many seconds passed.

    Returns:
        A :class:`History`; a non-finite training loss raises ``FloatingPointError``
        naming the epoch, so a diverged run never looks like a result.
    """
    require_int(epochs, "epochs", low=1)
    if clip_norm is not None and not clip_norm > 0:
        raise ValueError(f"clip_norm must be positive or None, got {clip_norm!r}")
    device = torch.device(device)
    model.to(device)
    step = step_fn or default_step
    history = History()
    elapsed = 0.0
    bar = tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        start = time.perf_counter()
        total, n = 0.0, 0
        for batch in train_loader:
            outputs, targets = step(model, batch, device)
            loss = loss_fn(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            size = int(targets.shape[0]) if targets.dim() > 0 else 1
            total += loss.item() * size
            n += size
        elapsed += time.perf_counter() - start
        if n == 0:
            raise ValueError("train() got an empty train_loader")
        record: dict[str, float] = {"epoch": epoch, "train_loss": total / n, "seconds": elapsed}
        if not math.isfinite(record["train_loss"]):
            raise FloatingPointError(
                f"training loss became {record['train_loss']} in epoch {epoch}; "
                "try a smaller learning rate or clip_norm=1.0"
            )
        if val_loader is not None:
            scores = evaluate(model, val_loader, loss_fn, device=device, metrics=metrics, step_fn=step_fn)
            record.update({f"val_{k}": v for k, v in scores.items()})
        history.epochs.append(record)
        bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k not in ("epoch", "seconds")})
        if time_limit is not None and elapsed >= time_limit:
            break
    bar.close()
    return history
