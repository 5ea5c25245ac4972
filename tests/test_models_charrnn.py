"""Tests for course_utils.models.charrnn: shapes, packing, errors, metrics, a tiny overfit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.data import Vocab, pad_collate
from course_utils.data.loaders import encode_names
from course_utils.data.vocab import PAD_ID
from course_utils.models import count_parameters
from course_utils.models.charrnn import (
    CharRNNClassifier,
    SlidesRNN,
    name_to_onehot,
    predict_labels,
    predict_topk,
    train_one_name,
)

NAMES = ["Smith", "Nakamura", "Li", "Müller", "O'Neil", "Dupont"]
VOCAB = Vocab.from_chars(NAMES)
LANGS = ["A", "B", "C", "D"]


def batch(names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    x, lengths, _ = pad_collate([(s, 0) for s in encode_names(names, VOCAB)])
    return x, lengths


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_forward_shapes(cell: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    model = CharRNNClassifier(len(VOCAB), 4, hidden_size=8, cell=cell, embedding_dim=5,
                              num_layers=2, bidirectional=bidirectional)
    x, lengths = batch(NAMES)
    logits = model(x, lengths)
    assert logits.shape == (len(NAMES), 4)
    assert torch.isfinite(logits).all()


def test_one_hot_input_has_slides_parameter_count() -> None:
    # One-hot input: W_ih is [H, V] like the x-part of the slides' i2h, W_hh like its h-part.
    model = CharRNNClassifier(len(VOCAB), 4, hidden_size=8, cell="rnn", embedding_dim=None)
    slides = SlidesRNN(len(VOCAB), 8, 4)
    n_model = count_parameters(model)
    n_slides = count_parameters(slides)
    assert n_model == n_slides + 8  # nn.RNN has two bias vectors (b_ih, b_hh), i2h one
    x, lengths = batch(NAMES)
    assert model(x, lengths).shape == (len(NAMES), 4)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_packing_ignores_padding(cell: str) -> None:
    """A name's logits are the same alone and padded inside a batch of longer names."""
    torch.manual_seed(0)
    model = CharRNNClassifier(len(VOCAB), 4, hidden_size=8, cell=cell, embedding_dim=5).eval()
    x, lengths = batch(NAMES)
    together = model(x, lengths)
    for i, name in enumerate(NAMES):
        xi, li = batch([name])
        assert torch.allclose(model(xi, li)[0], together[i], atol=1e-6), name
    # Changing what sits in the padding changes nothing either.
    x2 = x.clone()
    x2[x2 == PAD_ID] = 5
    assert torch.allclose(model(x2, lengths), together, atol=1e-6)


def test_forward_bad_input() -> None:
    model = CharRNNClassifier(len(VOCAB), 4, hidden_size=8)
    x, lengths = batch(NAMES)
    with pytest.raises(TypeError, match="int64"):
        model(x.float(), lengths)
    with pytest.raises(TypeError):
        model(x[0], lengths)
    with pytest.raises(ValueError, match="lengths"):
        model(x, lengths[:-1])
    with pytest.raises(ValueError, match="length"):
        model(x, lengths + 100)
    bad = lengths.clone()
    bad[0] = 0
    with pytest.raises(ValueError):
        model(x, bad)
    with pytest.raises(ValueError, match="vocabulary"):
        model(x + len(VOCAB), lengths)


@pytest.mark.parametrize("kwargs", [dict(cell="transformer"), dict(hidden_size=0), dict(dropout=1.5),
                                    dict(embedding_dim=0), dict(num_layers=0)])
def test_constructor_bad_args(kwargs) -> None:
    with pytest.raises(ValueError):
        CharRNNClassifier(len(VOCAB), 4, **kwargs)


def test_slides_rnn_step_and_train_one_name() -> None:
    torch.manual_seed(0)
    rnn = SlidesRNN(len(VOCAB), 8, 4)
    line = name_to_onehot("Smith", VOCAB)
    assert line.shape == (5, 1, len(VOCAB))
    assert torch.equal(line.sum(dim=2), torch.ones(5, 1))
    out, hidden = rnn(line[0], rnn.initHidden())
    assert out.shape == (1, 4) and hidden.shape == (1, 8)
    assert torch.allclose(out.exp().sum(), torch.tensor(1.0))  # log-probabilities
    before = [p.detach().clone() for p in rnn.parameters()]
    losses = [train_one_name(rnn, torch.tensor([2]), line, nn.NLLLoss(), 0.05)[1] for _ in range(20)]
    assert losses[-1] < losses[0]
    assert any(not torch.equal(a, b) for a, b in zip(before, rnn.parameters()))
    suggested = SlidesRNN(len(VOCAB), 8, 4, suggested=True)
    out, _ = suggested(line[0], suggested.initHidden())
    assert out.shape == (1, 4)
    # A one-letter name never uses i2h in the suggested model: its gradient is None, not a crash.
    _, loss = train_one_name(suggested, torch.tensor([1]), name_to_onehot("L", VOCAB), nn.CrossEntropyLoss())
    assert suggested.i2h.weight.grad is None and loss > 0


def test_predict_topk() -> None:
    torch.manual_seed(0)
    model = CharRNNClassifier(len(VOCAB), 4, hidden_size=8)
    top = predict_topk(model, "Smith", VOCAB, LANGS, k=3)
    assert len(top) == 3 and {lang for lang, _ in top} <= set(LANGS)
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9
    full = predict_topk(model, "Smith", VOCAB, LANGS, k=4)
    assert sum(p for _, p in full) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        predict_topk(model, "", VOCAB, LANGS)
    with pytest.raises(ValueError):
        predict_topk(model, "Smith", VOCAB, LANGS, k=5)
    with pytest.raises(ValueError):
        predict_topk(model, "Smith", VOCAB, LANGS[:3])


def test_tiny_overfit() -> None:
    """Four 'languages' told apart by their letters: the GRU must learn them perfectly."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    alphabets = ["abc", "def", "ghi", "jkl"]
    names, labels = [], []
    for label, letters in enumerate(alphabets):
        for _ in range(8):
            names.append("".join(rng.choice(list(letters), size=rng.integers(2, 7))))
            labels.append(label)
    vocab = Vocab.from_chars(names)
    data = list(zip(encode_names(names, vocab), labels))
    loader = torch.utils.data.DataLoader(data, batch_size=32, shuffle=True, collate_fn=pad_collate)
    model = CharRNNClassifier(len(vocab), 4, hidden_size=16, cell="gru", embedding_dim=8)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(40):
        for x, lengths, y in loader:
            loss = nn.functional.cross_entropy(model(x, lengths), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    y_true, y_pred = predict_labels(model, loader)
    assert (y_true == y_pred).mean() == 1.0
    assert predict_topk(model, "fed", vocab, list("ABCD"), k=1)[0][0] == "B"
