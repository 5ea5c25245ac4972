"""course_utils.training: the loop learns, records history, clips, and refuses bad input."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.metrics import accuracy
from course_utils.training import History, batch_to_device, evaluate, train


def _blobs(n: int = 200, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) + 3.0 * y[:, None].float()
    return TensorDataset(x, y)


def test_train_learns_a_separable_problem() -> None:
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    loader = DataLoader(_blobs(), batch_size=32, shuffle=True)
    val = DataLoader(_blobs(seed=1), batch_size=64)
    history = train(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5),
                    epochs=5, device="cpu", val_loader=val, metrics={"accuracy": accuracy}, progress=False)
    assert [r["epoch"] for r in history.epochs] == [1, 2, 3, 4, 5]
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]
    assert history.last["val_accuracy"] > 0.9
    columns = history.as_dict()
    assert set(columns) >= {"train_loss", "val_loss", "val_accuracy", "seconds"}
    assert len(columns["val_loss"]) == 5


def test_clip_norm_bounds_the_gradient() -> None:
    model = nn.Linear(2, 2)
    seen: list[float] = []

    class Spy(torch.optim.SGD):
        def step(self, closure=None):
            seen.append(float(torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()))))
            return super().step(closure)

    x = torch.full((4, 2), 1e3)
    y = torch.zeros(4, dtype=torch.long)
    train(model, [(x, y)], nn.CrossEntropyLoss(), Spy(model.parameters(), lr=1e-6),
          epochs=2, device="cpu", clip_norm=0.5, progress=False)
    assert seen and max(seen) <= 0.5 + 1e-5


def test_lengths_batches_call_model_with_lengths_on_cpu() -> None:
    class Seen(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(1, 2)
            self.lengths_device: list[str] = []

        def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            self.lengths_device.append(lengths.device.type)
            return self.lin(x[:, :1].float())

    model = Seen()
    batch = (torch.ones(3, 4), torch.tensor([4, 2, 1]), torch.tensor([0, 1, 0]))
    train(model, [batch], nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
          epochs=1, device="cpu", progress=False)
    assert model.lengths_device == ["cpu"]


def test_divergence_is_an_error_not_a_result() -> None:
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(float("nan"))
    batch = (torch.ones(2, 1), torch.ones(2, 1))
    with pytest.raises(FloatingPointError, match="epoch 1"):
        train(model, [batch], nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
              epochs=1, device="cpu", progress=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs must be a positive int"),
    ({"epochs": 1, "clip_norm": 0.0}, "clip_norm must be positive"),
])
def test_bad_arguments(kwargs: dict, message: str) -> None:
    model = nn.Linear(1, 1)
    with pytest.raises(ValueError, match=message):
        train(model, [], nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), device="cpu",
              progress=False, **kwargs)


def test_malformed_batch_is_explained() -> None:
    model = nn.Linear(1, 1)
    with pytest.raises(ValueError, match=r"\(inputs, targets\) or \(inputs, lengths, targets\)"):
        train(model, [(torch.ones(1, 1),)], nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
              epochs=1, device="cpu", progress=False)


def test_time_limit_stops_early() -> None:
    model = nn.Linear(2, 2)
    history = train(model, DataLoader(_blobs(), batch_size=50), nn.CrossEntropyLoss(),
                    torch.optim.SGD(model.parameters(), lr=0.1), epochs=50, device="cpu",
                    progress=False, time_limit=0.0)
    assert len(history.epochs) == 1


def test_evaluate_weights_by_batch_size_and_restores_mode() -> None:
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    model.train()
    loader = [(torch.ones(1, 1), torch.ones(1, 1)), (torch.ones(3, 1), torch.zeros(3, 1))]
    scores = evaluate(model, loader, nn.MSELoss(), device="cpu")
    assert scores["loss"] == pytest.approx(0.25)
    assert model.training


def test_history_and_batch_to_device() -> None:
    with pytest.raises(ValueError, match="history is empty"):
        _ = History().last  # the property raises
    moved = batch_to_device({"x": torch.ones(1), "lengths": torch.tensor([1])}, "cpu")
    assert set(moved) == {"x", "lengths"}
    assert math.isnan(History([{"a": 1.0}, {"b": 2.0}]).as_dict()["b"][0])
