"""The simple RNN language model of the lectures, built from ``torch.nn.RNN``.

In the slides' notation, for every position i of a sentence

    w_i      = E[word_i]                      (embedding lookup)
    h_i      = f(W h_{i-1} + U w_i + b)       (``nn.RNN``: W = weight_hh, U = weight_ih,
                                               b = bias_ih + bias_hh, f = tanh or relu)
    ŵ_{i+1}  = softmax(S h_i + c)             (``nn.Linear``: S = weight, c = bias)

The model returns the scores ``S h_i + c`` (logits); ``nn.CrossEntropyLoss``
applies the log-softmax itself.

>>> model = RNNLanguageModel(vocab_size=29, embedding_dim=8, hidden_size=16)
>>> logits = model(ids[:, :-1])                  # [batch, seq len, vocab]
>>> loss = lm_loss(logits, ids[:, 1:])
"""

from __future__ import annotations

import torch
from torch import nn

from course_utils._validate import require_int

__all__ = ["RNNLanguageModel", "lm_loss"]


class RNNLanguageModel(nn.Module):
    """Embedding -> ``nn.RNN`` -> linear read-out, batch first.

    Args:
        vocab_size: V, number of words.
        embedding_dim: D, size of the word vectors ``w_i``.
        hidden_size: H, size of the hidden state ``h_i``.
        num_layers: stacked RNN layers (the multi-layer cell).
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.

    Attributes (the slides' names): ``embedding`` (E), ``rnn`` (W, U), ``S``.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh") -> None:
        super().__init__()
        for name, value in [("vocab_size", vocab_size), ("embedding_dim", embedding_dim), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)]:
            require_int(value, name, low=1)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"nonlinearity must be 'tanh' or 'relu' (what nn.RNN offers), got {nonlinearity!r}; "
                "the sigmoid cell of the slides is written out by hand in lecture 03"
            )
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = nn.RNN(embedding_dim, hidden_size, num_layers=num_layers, nonlinearity=nonlinearity,
                          batch_first=True)
        self.S = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: torch.Tensor, hidden: torch.Tensor | None = None,
                return_hidden: bool = False):
        """Scores for the next word at every position.

        Args:
            x: word ids ``[batch, seq len]`` (int64).
            hidden: initial state ``[n layers, batch, hid dim]``; zeros when None.
            return_hidden: also return the final hidden state.

        Returns:
            logits ``[batch, seq len, vocab]`` (and ``hidden [n layers, batch, hid dim]``).
        """
        if not isinstance(x, torch.Tensor) or x.dtype != torch.long or x.dim() != 2:
            got = f"{x.dtype} tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"x must be an int64 tensor [batch, seq len] of word ids, got {got}")
        emb = self.embedding(x)                 # emb = [batch, seq len, emb dim]
        states, hidden = self.rnn(emb, hidden)  # states = [batch, seq len, hid dim]
        logits = self.S(states)               # logits = [batch, seq len, vocab]
        return (logits, hidden) if return_hidden else logits


def lm_loss(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Per-token cross-entropy of a language model.

    Args:
        logits: ``[batch, seq len, vocab]``.
        targets: next-word ids ``[batch, seq len]``.
        reduction: ``"mean"`` (over all tokens) or ``"sum"``.

    Returns:
        A scalar tensor.
    """
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(
            f"expected logits [batch, seq len, vocab] and targets [batch, seq len], "
            f"got {tuple(logits.shape)} and {tuple(targets.shape)}"
        )
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                       reduction=reduction)
