"""The course's models, one module each, and the two things every model shares.

Modules: ``simple_rnn`` (the word-level RNN language model of lectures 03-05), ``charrnn``
(name classifiers), ``ngram_classifier`` (the bag of n-grams yardstick), ``chargen`` (the
character generator), ``seq2seq`` and ``decoding`` (translation). Data sets and loaders are in
:mod:`course_utils.data`, metrics in :mod:`course_utils.metrics`.

Shared here: :data:`CELLS`, the recurrent layers a model can be built with, by name, and
:func:`count_parameters`.
"""

from __future__ import annotations

from torch import nn

__all__ = ["CELLS", "count_parameters"]

#: PyTorch's recurrent layers by the name a model's ``cell`` argument takes.
CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def count_parameters(model: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of parameters of ``model`` (only those with ``requires_grad`` unless told otherwise).

    A parameter shared between two layers (tied weights) is counted once, as
    ``model.parameters()`` yields it once.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"count_parameters expects a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
