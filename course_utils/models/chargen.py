"""A character-level generator: the language model behind lecture 07.

One model, two uses:

* **conditioned** (``n_categories > 0``): names, ``p(w_{i+1} | w_1..w_i, language)``;
  the language is embedded and fed in beside every character, as in the PyTorch
  "generating names" tutorial (category + input + hidden);
* **unconditioned** (``n_categories = 0``): a plain character language model on a
  text corpus.

>>> model = CharGenerator(len(vocab), hidden_size=128, n_categories=len(languages))
>>> logits, hidden = model(inputs, categories)          # [batch, seq len, vocab]
>>> sample(model, vocab, start="Ma", category=3, temperature=0.8, top_k=5)
'Marino'

The module also holds what training and evaluating such a model needs:
:func:`encode_lm_examples` / :func:`collate_names` (names -> padded id tensors),
:func:`corpus_windows` (a long id sequence -> fixed-length training windows),
:func:`lm_step` (the ``step_fn`` for :func:`course_utils.training.train`, which
keeps only real characters so the loss is a mean per character) and
:func:`evaluate_per_char` (held-out loss, perplexity and bits per character).

Special ids are those of :mod:`course_utils.data.vocab`: ``PAD_ID=0, SOS_ID=1, EOS_ID=2, UNK_ID=3``.
A vocabulary is a :class:`course_utils.data.Vocab` or a
:class:`course_utils.data.CharCorpus`: anything with ``encode(text)`` (ids) and
``decode(ids)`` (a string, or a list of characters).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import torch
from torch import nn
from torch.nn import functional as F

from course_utils._validate import require_int
from course_utils.data.batching import pad_sequences
from course_utils.data.vocab import EOS_ID, PAD_ID, SOS_ID, UNK_ID
from course_utils.models import CELLS

__all__ = [
    "GENERATOR_CELLS",
    "CharGenerator",
    "collate_names",
    "corpus_windows",
    "encode_lm_examples",
    "evaluate_per_char",
    "lm_step",
    "next_char_probs",
    "pick_next",
    "sample",
]

#: The ``cell`` choices: the tutorial's linear recurrence, then PyTorch's layers (:data:`course_utils.models.CELLS`).
GENERATOR_CELLS: tuple[str, ...] = ("linear", *CELLS)


class CharVocab(Protocol):
    """What :func:`sample` and :func:`encode_lm_examples` need from a vocabulary."""

    def encode(self, text: str) -> Sequence[int]: ...

    def decode(self, ids: Sequence[int]) -> str | list[str]: ...


class CharGenerator(nn.Module):
    """Embedding -> recurrent cell -> linear scores over the next character.

    Per time step ``i`` (slides' notation, ``c`` the category embedding)::

        x_i = [E w_i ; c]                    (character embedding, category embedding)
        h_i = cell(x_i, h_{i-1})             tanh RNN, GRU or LSTM
        scores_{i+1} = S h_i                 softmax(scores) = p(w_{i+1} | w_1..w_i, c)

    ``cell="linear"`` is the tutorial's recurrence, ``h_i = W h_{i-1} + U x_i + b``
    with no nonlinearity, kept so the lecture can measure what it costs.

    Args:
        vocab_size: number of character ids (including the special ids).
        hidden_size: size of ``h_i``.
        n_categories: number of languages to condition on; 0 for an unconditioned model.
        embedding_dim: size of a character embedding.
        category_dim: size of a category embedding (ignored when ``n_categories == 0``).
        cell: ``"gru"`` (default), ``"lstm"``, ``"rnn"`` (tanh) or ``"linear"``.
        num_layers: stacked recurrent layers (``"linear"`` supports 1).
        dropout: dropout on the embeddings and on the outputs before ``S``.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int = 128,
        *,
        n_categories: int = 0,
        embedding_dim: int = 32,
        category_dim: int = 16,
        cell: str = "gru",
        num_layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for name, value, low in (("vocab_size", vocab_size, 1), ("hidden_size", hidden_size, 1),
                                 ("n_categories", n_categories, 0), ("embedding_dim", embedding_dim, 1),
                                 ("category_dim", category_dim, 1), ("num_layers", num_layers, 1)):
            require_int(value, name, low=low)
        if cell not in GENERATOR_CELLS:
            raise ValueError(f"cell must be one of {GENERATOR_CELLS}, got {cell!r}")
        if cell == "linear" and num_layers != 1:
            raise ValueError("cell='linear' is the tutorial's one-layer recurrence: use num_layers=1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.vocab_size, self.hidden_size, self.n_categories = vocab_size, hidden_size, n_categories
        self.cell, self.num_layers = cell, num_layers
        self.embed = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.category_embed = nn.Embedding(n_categories, category_dim) if n_categories else None
        input_size = embedding_dim + (category_dim if n_categories else 0)
        if cell == "linear":
            self.rnn = nn.Linear(input_size + hidden_size, hidden_size)  # [U W] acting on [x_i ; h_{i-1}]
        else:
            self.rnn = CELLS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.S = nn.Linear(hidden_size, vocab_size)

    def forward(
        self,
        inputs: torch.Tensor,
        categories: torch.Tensor | None = None,
        hidden: Any = None,
    ) -> tuple[torch.Tensor, Any]:
        """Scores for the next character at every position.

        Args:
            inputs: character ids ``[batch, seq len]`` (int64).
            categories: category ids ``[batch]``; required iff ``n_categories > 0``.
            hidden: the state to start from (``None``: zeros), as returned by a previous call.

        Returns:
            ``(scores, hidden)``: ``scores = [batch, seq len, vocab]`` (unnormalised;
            softmax gives the distribution) and the last state
            (``[n layers, batch, hid dim]``, or a pair of those for the LSTM).
        """
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2 or inputs.dtype != torch.long:
            raise ValueError(
                "inputs must be an int64 tensor [batch, seq len] of character ids, got "
                + (f"shape {tuple(inputs.shape)} dtype {inputs.dtype}" if isinstance(inputs, torch.Tensor)
                   else type(inputs).__name__)
            )
        x = self.embed(inputs)
        # x = [batch, seq len, emb dim]
        if self.n_categories:
            if categories is None or categories.shape != inputs.shape[:1]:
                got = None if categories is None else tuple(categories.shape)
                raise ValueError(
                    f"this model is conditioned on {self.n_categories} categories: pass categories "
                    f"of shape [batch] = ({inputs.shape[0]},), got {got}"
                )
            c = self.category_embed(categories)
            # c = [batch, cat dim], repeated at every step
            x = torch.cat([x, c.unsqueeze(1).expand(-1, inputs.shape[1], -1)], dim=2)
        elif categories is not None:
            raise ValueError("this model is unconditioned (n_categories=0): do not pass categories")
        x = self.drop(x)
        if self.cell == "linear":
            outputs, hidden = self._linear_recurrence(x, hidden)
        else:
            outputs, hidden = self.rnn(x, hidden)
        # outputs = [batch, seq len, hid dim]
        return self.S(self.drop(outputs)), hidden

    def _linear_recurrence(
        self, x: torch.Tensor, hidden: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``h_i = W h_{i-1} + U x_i + b`` step by step; hidden = [1, batch, hid dim]."""
        h = x.new_zeros(x.shape[0], self.hidden_size) if hidden is None else hidden[0]
        outputs = []
        for i in range(x.shape[1]):
            h = self.rnn(torch.cat([x[:, i], h], dim=1))
            outputs.append(h)
        return torch.stack(outputs, dim=1), h.unsqueeze(0)


# --------------------------------------------------------------------------- sampling


def _check_temperature(temperature: float) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature must be a number >= 0, got {type(temperature).__name__}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(
            f"temperature must be a finite number >= 0 (0 means greedy, 1 the model's own distribution), "
            f"got {temperature}"
        )
    return float(temperature)


def _check_top_k(top_k: int | None) -> int | None:
    if top_k is None:
        return None
    require_int(top_k, "top_k", low=1)
    return top_k


def next_char_probs(scores: torch.Tensor, temperature: float = 1.0, top_k: int | None = None) -> torch.Tensor:
    """The distribution sampling draws from: ``softmax(scores / T)`` over the ``top_k`` best.

    Args:
        scores: unnormalised scores ``[..., vocab]``.
        temperature: ``T > 0`` sharpens (``T < 1``) or flattens (``T > 1``) the
            distribution; ``T = 0`` puts all mass on the arg-max (greedy).
        top_k: keep only the ``k`` highest scores (``None``: all; ``k`` larger
            than the vocabulary keeps all).

    Returns:
        probabilities of the same shape as ``scores``, summing to 1 on the last dim.
    """
    temperature, top_k = _check_temperature(temperature), _check_top_k(top_k)
    if not isinstance(scores, torch.Tensor) or not scores.is_floating_point() or scores.dim() < 1:
        raise TypeError("scores must be a floating torch tensor [..., vocab]")
    scores = scores.float()
    if temperature == 0.0:
        return F.one_hot(scores.argmax(dim=-1), scores.shape[-1]).to(scores.dtype)
    if top_k is not None and top_k < scores.shape[-1]:
        kth = scores.topk(top_k, dim=-1).values[..., -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    return torch.softmax(scores / temperature, dim=-1)


def pick_next(
    scores: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one id per row from :func:`next_char_probs`; ``[batch, vocab] -> [batch]``.

    ``temperature=0`` or ``top_k=1`` is the greedy choice (no randomness used).
    ``generator`` must live on the device of ``scores``.
    """
    probs = next_char_probs(scores, temperature, top_k)
    if probs.dim() != 2:
        raise ValueError(f"pick_next expects scores [batch, vocab], got shape {tuple(scores.shape)}")
    if temperature == 0.0 or top_k == 1:
        return probs.argmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


@torch.no_grad()
def sample(
    model: CharGenerator,
    vocab: CharVocab,
    start: str = "",
    *,
    category: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    max_len: int = 20,
    use_sos: bool = True,
    generator: torch.Generator | None = None,
) -> str:
    """Generate text one character at a time, feeding each choice back in.

    Args:
        model: a trained :class:`CharGenerator`.
        vocab: its vocabulary (``encode``/``decode``).
        start: the first characters, given rather than sampled.
        category: the category id (required iff the model is conditioned).
        temperature: 0 greedy, < 1 safer, 1 the model's distribution, > 1 wilder.
        top_k: sample only among the ``k`` most likely characters.
        max_len: stop after this many characters (``start`` included).
        use_sos: feed ``SOS_ID`` first (names); ``False`` for a corpus model, which
            then needs a non-empty ``start``.
        generator: a ``torch.Generator`` on the model's device, for repeatable draws.

    Returns:
        ``start`` followed by the generated characters (``EOS_ID`` ends a name and is
        not included). ``PAD_ID``, ``SOS_ID`` and ``UNK_ID`` are never drawn (nor ``EOS_ID``
        when ``use_sos=False``: a corpus has no end).
    """
    _check_temperature(temperature)
    _check_top_k(top_k)
    if not isinstance(start, str):
        raise TypeError(f"start must be a string of first letters, got {type(start).__name__}")
    require_int(max_len, "max_len", low=1)
    if model.n_categories:
        n_cat = model.n_categories
        if category is None:
            raise ValueError(f"this model is conditioned: category must be an int in [0, {n_cat - 1}], got None")
        require_int(category, "category", low=0, high=n_cat - 1)
    elif category is not None:
        raise ValueError("this model is unconditioned: leave category=None")
    start_ids = [int(i) for i in vocab.encode(start)]
    prefix = ([SOS_ID] if use_sos else []) + start_ids
    if not prefix:
        raise ValueError("with use_sos=False the model needs at least one start character, e.g. start='\\n'")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    cats = None if category is None else torch.tensor([category], device=device)
    # Never draw padding, start or unknown; without SOS_ID there is no end either.
    banned = [PAD_ID, SOS_ID, UNK_ID] + ([] if use_sos else [EOS_ID])
    out = list(start_ids)
    # Read the whole prefix in one call; its last scores predict the next character.
    scores, hidden = model(torch.tensor([prefix], device=device), cats)
    for _ in range(max_len - len(start)):
        last = scores[:, -1].clone()
        # last = [1, vocab]
        last[:, banned] = float("-inf")
        nxt = int(pick_next(last, temperature, top_k, generator))
        if use_sos and nxt == EOS_ID:
            break
        out.append(nxt)
        scores, hidden = model(torch.tensor([[nxt]], device=device), cats, hidden)
    model.train(was_training)
    text = vocab.decode(out)
    return text if isinstance(text, str) else "".join(text)


# --------------------------------------------------------------------------- data


def encode_lm_examples(
    names: Sequence[str], categories: Sequence[int], vocab: CharVocab
) -> list[tuple[torch.Tensor, int, torch.Tensor]]:
    """One language-model example ``(inputs, category, targets)`` per name.

    (Not :func:`course_utils.data.loaders.encode_names`, which gives a classifier the bare ids.)

    ``inputs = [SOS_ID, w_1 .. w_n]`` and ``targets = [w_1 .. w_n, EOS_ID]``: at every
    position the model predicts the next character, and finally the end.

    Returns:
        a list of ``(inputs [n + 1], category, targets [n + 1])`` (int64 tensors).
    """
    if isinstance(names, str):
        raise TypeError("names must be a list of strings, not a single string")
    if len(names) != len(categories):
        raise ValueError(f"need one category per name: {len(names)} names, {len(categories)} categories")
    examples = []
    for name, cat in zip(names, categories):
        ids = [int(i) for i in vocab.encode(name)]
        if not ids:
            raise ValueError(f"empty name at position {len(examples)}: every name needs a character")
        examples.append((torch.tensor([SOS_ID] + ids), int(cat), torch.tensor(ids + [EOS_ID])))
    return examples


def collate_names(
    batch: Sequence[tuple[torch.Tensor, int, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad a list of :func:`encode_lm_examples` examples with ``PAD_ID`` (``collate_fn`` for a DataLoader).

    Returns:
        ``(inputs [batch, max len], categories [batch], targets [batch, max len])``.
    """
    if not batch:
        raise ValueError("collate_names got an empty batch")
    inputs, _ = pad_sequences([b[0] for b in batch])
    targets, _ = pad_sequences([b[2] for b in batch])
    return inputs, torch.tensor([b[1] for b in batch]), targets


def corpus_windows(
    ids: torch.Tensor | Sequence[int], seq_len: int, *, stride: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut a long id sequence into training windows with next-character targets.

    Window ``j`` reads ``ids[s : s + seq_len]`` and predicts ``ids[s + 1 : s + seq_len + 1]``
    with ``s = j * stride`` (``stride`` defaults to ``seq_len``: no overlap).

    Returns:
        ``(inputs, targets)``, both ``[n windows, seq len]`` int64.
    """
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D sequence of character ids, got shape {tuple(ids.shape)}")
    require_int(seq_len, "seq_len", low=1)
    stride = seq_len if stride is None else stride
    require_int(stride, "stride", low=1)
    if ids.numel() < seq_len + 1:
        raise ValueError(f"need at least seq_len + 1 = {seq_len + 1} ids for one window, got {ids.numel()}")
    starts = torch.arange(0, ids.numel() - seq_len, stride)
    offsets = torch.arange(seq_len)
    inputs = ids[starts[:, None] + offsets]
    targets = ids[starts[:, None] + offsets + 1]
    return inputs, targets


# --------------------------------------------------------------------------- training and evaluation


def lm_step(
    model: CharGenerator, batch: Sequence[torch.Tensor], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``step_fn`` for :func:`course_utils.training.train`: scores and targets of the real characters.

    Batches are ``(inputs, targets)`` (corpus) or ``(inputs, categories, targets)``
    (names), ids ``[batch, seq len]``. Positions whose target is ``PAD_ID`` are dropped,
    so ``CrossEntropyLoss()`` on the result is the mean loss per character.

    Returns:
        ``(scores [n chars, vocab], targets [n chars])``.
    """
    if not isinstance(batch, (list, tuple)) or len(batch) not in (2, 3):
        raise ValueError("a language-model batch is (inputs, targets) or (inputs, categories, targets)")
    if len(batch) == 2:
        inputs, targets = batch
        scores, _ = model(inputs.to(device))
    else:
        inputs, cats, targets = batch
        scores, _ = model(inputs.to(device), cats.to(device))
    targets = targets.to(device)
    # scores = [batch, seq len, vocab], targets = [batch, seq len]
    keep = targets != PAD_ID
    return scores[keep], targets[keep]


@torch.no_grad()
def evaluate_per_char(
    model: CharGenerator, loader: Iterable[Sequence[torch.Tensor]], *, device: torch.device | str
) -> dict[str, float]:
    """Held-out loss per character, perplexity and bits per character.

    ``loss = -(1/N) Σ log p(w_i | history)`` over all ``N`` real characters (natural log),
    ``perplexity = exp(loss)``, ``bpc = loss / ln 2`` (the same average in bits).

    Returns:
        ``{"loss", "perplexity", "bpc", "n_chars"}``.
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    for batch in loader:
        scores, targets = lm_step(model, batch, device)
        total += float(F.cross_entropy(scores.float(), targets, reduction="sum"))
        n += int(targets.numel())
    model.train(was_training)
    if n == 0:
        raise ValueError("evaluate_per_char got no characters: is the loader empty?")
    loss = total / n
    return {"loss": loss, "perplexity": math.exp(loss), "bpc": loss / math.log(2), "n_chars": n}
