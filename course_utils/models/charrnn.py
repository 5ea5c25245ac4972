"""Character-level name classifiers: the slides' one-name-at-a-time RNN and a batched one.

Two models classify a name (a sequence of characters ``w_1 ... w_T``) into a language:

* :class:`SlidesRNN` is the PyTorch tutorial's model exactly as the slides show it, made to
  run on current PyTorch: ``hidden = i2h([w_i; h_{i-1}])``, ``output = LogSoftmax(h2o(hidden))``,
  fed one character (a one-hot row ``[1, vocab_size]``) and one name at a time.
  :func:`train_one_name` is the slides' ``train()`` with the hand-written SGD update.
* :class:`CharRNNClassifier` is how a practitioner trains it: an embedding, ``nn.RNN`` /
  ``nn.GRU`` / ``nn.LSTM`` over a padded minibatch packed with ``pack_padded_sequence`` (so
  padding never touches the recurrence), and a linear layer from the last hidden state
  ``h_T`` to one raw score per language (use ``nn.CrossEntropyLoss``).

Helpers around them: :func:`name_to_onehot`, :func:`predict_topk`, :func:`predict_labels`,
:func:`train_classifier`. The loaders (``make_name_loaders``, ``encode_names``) are in
:mod:`course_utils.data.loaders`, the metrics (``confusion_matrix``, ``macro_f1``) in
:mod:`course_utils.metrics`.

>>> loaders = make_name_loaders(load_names(), batch_size=64)   # course_utils.data.loaders
>>> model = CharRNNClassifier(len(loaders.vocab), len(loaders.languages), cell="gru")
>>> history = train_classifier(model, loaders, epochs=10, device=device)
>>> predict_topk(model, "Nakamura", loaders.vocab, loaders.languages)   # [(language, probability)] * 3
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from course_utils._validate import describe, require_int
from course_utils.data.loaders import NameLoaders, encode_names
from course_utils.data.vocab import PAD_ID
from course_utils.metrics import accuracy
from course_utils.models import CELLS
from course_utils.training import History, train

__all__ = [
    "CharRNNClassifier",
    "SlidesRNN",
    "name_to_onehot",
    "predict_labels",
    "predict_topk",
    "train_classifier",
    "train_one_name",
]



def name_to_onehot(name: str, vocab: Any) -> torch.Tensor:
    """The tutorial's ``lineToTensor``: a name as one-hot rows, one per character.

    Returns:
        ``[T, 1, vocab_size]`` float tensor; ``[t, 0, id(w_t)] = 1`` (the middle 1 is the batch
        of one that the slides' ``RNN.forward`` expects).
    """
    ids = encode_names([name], vocab)[0]
    onehot = torch.zeros(len(ids), 1, len(vocab))
    # onehot = [T, 1, vocab size]
    onehot[torch.arange(len(ids)), 0, ids] = 1.0
    return onehot


# --------------------------------------------------------------------------------------------
# The slides' model, one name at a time
# --------------------------------------------------------------------------------------------


class SlidesRNN(nn.Module):
    """The slides' (PyTorch tutorial's) character RNN, runnable on current PyTorch.

    In the slides' notation: ``combined = [w_i; h_{i-1}]``,
    ``h_i = i2h(combined) = U w_i + W h_{i-1} + b`` (``i2h.weight`` is ``[U W]``; note: no
    ``σ``, exactly as in the slides' code) and ``output = LogSoftmax(S h_i)`` with ``S = h2o``.
    With ``suggested=True`` it is the slides' "suggested implementation changes":
    ``output = i2o(combined)`` as raw scores, to be used with ``nn.CrossEntropyLoss``.

    Args:
        input_size: one-hot width (the vocabulary size).
        hidden_size: width of ``h_t``.
        output_size: number of classes.
        suggested: use ``i2o`` on the combined vector and return raw scores.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, *, suggested: bool = False) -> None:
        super().__init__()
        for arg, val in (("input_size", input_size), ("hidden_size", hidden_size), ("output_size", output_size)):
            require_int(val, arg, low=1)
        self.hidden_size = hidden_size
        self.suggested = suggested
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        if suggested:
            self.i2o = nn.Linear(input_size + hidden_size, output_size)
        else:
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step.

        Args:
            input: ``w_i`` one-hot ``[1, input_size]``.
            hidden: ``h_{i-1}`` ``[1, hidden_size]``.

        Returns:
            ``(output [1, output_size], h_i [1, hidden_size])``; ``output`` is log-probabilities,
            or raw scores when ``suggested``.
        """
        combined = torch.cat((input, hidden), 1)
        # combined = [1, input size + hidden size]
        new_hidden = self.i2h(combined)
        if self.suggested:
            return self.i2o(combined), new_hidden
        return self.softmax(self.h2o(new_hidden)), new_hidden

    def initHidden(self) -> torch.Tensor:  # camelCase: the slides' name
        """``h_0 = 0``, shape ``[1, hidden_size]``, on the model's device."""
        return torch.zeros(1, self.hidden_size, device=self.i2h.weight.device)


def train_one_name(
    rnn: SlidesRNN,
    category_tensor: torch.Tensor,
    line_tensor: torch.Tensor,
    criterion: nn.Module,
    learning_rate: float = 0.005,
) -> tuple[torch.Tensor, float]:
    """The slides' ``train()``: one name, one hand-written SGD step, modern idioms.

    Args:
        category_tensor: the language id, ``[1]`` int64.
        line_tensor: the name as one-hot rows, ``[T, 1, input_size]`` (:func:`name_to_onehot`).
        criterion: ``nn.NLLLoss()`` (slides) or ``nn.CrossEntropyLoss()`` (``suggested=True``).

    Returns:
        ``(output [1, n_classes] at the last character, loss as a float)``.
    """
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size(0)):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    with torch.no_grad():
        for p in rnn.parameters():
            if p.grad is not None:  # zero_grad() leaves None where a parameter was not used (i2o model, 1-letter name)
                p.add_(p.grad, alpha=-learning_rate)
    return output, loss.item()


# --------------------------------------------------------------------------------------------
# The batched model
# --------------------------------------------------------------------------------------------


class CharRNNClassifier(nn.Module):
    """Embedding -> ``nn.RNN``/``nn.GRU``/``nn.LSTM`` over packed names -> linear scores.

    Args:
        vocab_size: number of character ids (id ``PAD_ID`` = 0 is padding).
        n_classes: number of languages.
        hidden_size: width of ``h_i``.
        cell: ``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``.
        embedding_dim: width of the character embedding; ``None`` feeds one-hot vectors of
            width ``vocab_size`` instead (then ``U w_i`` is a column of ``U``: the same
            parameters as the slides' ``i2h``, used to compare like with like).
        num_layers: stacked recurrent layers.
        dropout: dropout between stacked layers and before the output layer.
        bidirectional: also read each name right to left and join both final states.

    Shapes: ``forward(x [batch, max_len], lengths [batch]) -> logits [batch, n_classes]``.
    """

    def __init__(
        self,
        vocab_size: int,
        n_classes: int,
        hidden_size: int = 128,
        cell: Literal["rnn", "gru", "lstm"] = "gru",
        embedding_dim: int | None = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        for arg, val, low in (("vocab_size", vocab_size, 2), ("n_classes", n_classes, 2),
                              ("hidden_size", hidden_size, 1), ("num_layers", num_layers, 1)):
            require_int(val, arg, low=low)
        if embedding_dim is not None:  # None: one-hot inputs
            require_int(embedding_dim, "embedding_dim", low=1)
        if not isinstance(cell, str) or cell.lower() not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.vocab_size = vocab_size
        self.n_classes = n_classes
        self.cell = cell.lower()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        if embedding_dim is None:
            self.embedding = None
            input_size = vocab_size
        else:
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
            input_size = embedding_dim
        self.rnn = CELLS[self.cell](
            input_size, hidden_size, num_layers=num_layers, batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional,
        )
        self.dropout = nn.Dropout(dropout)
        self.S = nn.Linear(hidden_size * self.num_directions, n_classes)

    def _check_inputs(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.dtype != torch.long:
            raise TypeError(f"x must be an int64 tensor [batch, max_len] of character ids, got {describe(x)}; "
                            "use encode_names() and pad_collate() to build it")
        if not isinstance(lengths, torch.Tensor):
            lengths = torch.as_tensor(lengths)
        if lengths.dim() != 1 or lengths.shape[0] != x.shape[0] or lengths.is_floating_point():
            raise ValueError(f"lengths must be an integer tensor [batch] = [{x.shape[0]}], got {describe(lengths)}")
        lengths = lengths.to("cpu", torch.int64)
        if x.shape[0] == 0:
            raise ValueError("cannot classify an empty batch")
        if int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]:
            raise ValueError(f"every length must be in [1, max_len={x.shape[1]}], "
                             f"got min {int(lengths.min())} and max {int(lengths.max())}")
        return lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Scores for each name in a padded batch.

        Args:
            x: character ids ``[batch, max_len]``, padded with ``PAD_ID`` after each name.
            lengths: true lengths ``[batch]`` (int64; kept on the CPU for packing).

        Returns:
            raw scores (logits) ``[batch, n_classes]``.
        """
        lengths = self._check_inputs(x, lengths)
        low, high = (int(v) for v in torch.aminmax(x))
        if low < 0 or high >= self.vocab_size:
            raise ValueError(f"character ids must be in [0, {self.vocab_size}), got range "
                             f"[{low}, {high}]: was the model built with this vocabulary?")
        if self.embedding is None:
            emb = nn.functional.one_hot(x, self.vocab_size).float()
        else:
            emb = self.embedding(x)
        # emb = [batch, max len, input size]
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        _, hidden = self.rnn(packed)
        if self.cell == "lstm":
            hidden = hidden[0]  # (h_n, c_n) -> h_n
        # hidden = [n layers * n directions, batch, hid dim]; packing makes it h at each name's own last step
        last = hidden[-self.num_directions:]
        # last = [n directions, batch, hid dim]
        h_T = torch.cat(list(last), dim=1)
        # h_T = [batch, hid dim * n directions]
        return self.S(self.dropout(h_T))


# --------------------------------------------------------------------------------------------
# Prediction and metrics
# --------------------------------------------------------------------------------------------


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def predict_topk(
    model: CharRNNClassifier,
    name: str,
    vocab: Any,
    languages: Sequence[str],
    k: int = 3,
    device: torch.device | str | None = None,
) -> list[tuple[str, float]]:
    """The ``k`` most likely languages for one name, with softmax probabilities.

    Args:
        name: the name to classify (characters outside ``vocab`` raise a ValueError naming them).
        languages: class names in id order (``len(languages) == model.n_classes``).
        k: how many to return (at most ``len(languages)``).
        device: where to run; default the model's device.

    Returns:
        ``[(language, probability), ...]`` sorted from most to least likely.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if len(languages) != model.n_classes:
        raise ValueError(f"got {len(languages)} languages for a model with {model.n_classes} classes")
    require_int(k, "k", low=1, high=len(languages))
    device = torch.device(device) if device is not None else _device_of(model)
    ids = encode_names([name.strip()], vocab)[0]
    was_training = model.training
    model.eval()
    logits = model(ids.unsqueeze(0).to(device), torch.tensor([len(ids)]))
    model.train(was_training)
    probs = torch.softmax(logits[0].double(), dim=0).cpu()
    top = torch.topk(probs, k)
    return [(str(languages[i]), float(p)) for p, i in zip(top.values, top.indices)]


@torch.no_grad()
def predict_labels(
    model: nn.Module, loader: Iterable[Any], device: torch.device | str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` over a loader of ``(x, lengths, y)`` batches.

    Returns:
        ``(y_true [n], y_pred [n])`` as int64 NumPy arrays, in loader order.
    """
    device = torch.device(device) if device is not None else _device_of(model)
    was_training = model.training
    model.eval()
    trues, preds = [], []
    for x, lengths, y in loader:
        logits = model(x.to(device), lengths.cpu())
        preds.append(logits.argmax(dim=1).cpu())
        trues.append(y.cpu())
    model.train(was_training)
    return torch.cat(trues).numpy().astype(np.int64), torch.cat(preds).numpy().astype(np.int64)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def train_classifier(
    model: CharRNNClassifier,
    loaders: NameLoaders,
    *,
    epochs: int,
    device: torch.device | str,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    clip_norm: float | None = 1.0,
    time_limit: float | None = None,
    progress: bool = True,
) -> History:
    """Adam + cross-entropy on ``loaders.train``, validation accuracy after every epoch.

    A thin wrapper over :func:`course_utils.training.train`; see there for ``clip_norm`` and
    ``time_limit`` (stop after the epoch in which that many training seconds passed).

    Returns:
        the :class:`~course_utils.training.History` (``val_accuracy`` per epoch).
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    return train(model, loaders.train, nn.CrossEntropyLoss(), optimizer, epochs=epochs, device=device,
                 clip_norm=clip_norm, val_loader=loaders.val, metrics={"accuracy": accuracy},
                 progress=progress, time_limit=time_limit)
