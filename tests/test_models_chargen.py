"""Tests for course_utils.models.chargen: the character generator, sampling, batching, evaluation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from course_utils.data import Vocab, names_vocab
from course_utils.data.vocab import EOS_ID, PAD_ID, SOS_ID, UNK_ID
from course_utils.models.chargen import (
    GENERATOR_CELLS,
    CharGenerator,
    collate_names,
    corpus_windows,
    encode_lm_examples,
    evaluate_per_char,
    lm_step,
    next_char_probs,
    pick_next,
    sample,
)


@pytest.fixture()
def vocab() -> Vocab:
    return names_vocab()


def _model(vocab: Vocab, cell: str = "gru", n_categories: int = 3) -> CharGenerator:
    torch.manual_seed(0)
    return CharGenerator(len(vocab), 16, n_categories=n_categories, embedding_dim=8, category_dim=4, cell=cell)


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize("cell", GENERATOR_CELLS)
def test_forward_shapes_every_cell(vocab: Vocab, cell: str) -> None:
    model = _model(vocab, cell)
    x = torch.randint(4, len(vocab), (5, 7))
    scores, hidden = model(x, torch.tensor([0, 1, 2, 0, 1]))
    assert scores.shape == (5, 7, len(vocab))
    h = hidden[0] if cell == "lstm" else hidden
    assert h.shape == (1, 5, 16)


@pytest.mark.parametrize("cell", GENERATOR_CELLS)
def test_hidden_carries_over_between_calls(vocab: Vocab, cell: str) -> None:
    """Reading a sequence in two pieces (passing the state on) equals reading it at once."""
    model = _model(vocab, cell).eval()
    x, c = torch.randint(4, len(vocab), (2, 6)), torch.tensor([1, 2])
    whole, _ = model(x, c)
    first, state = model(x[:, :4], c)
    second, _ = model(x[:, 4:], c, state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, rtol=1e-5, atol=1e-6)


def test_linear_cell_has_no_nonlinearity(vocab: Vocab) -> None:
    """The tutorial's recurrence is affine in its inputs: superposition holds."""
    model = CharGenerator(len(vocab), 8, embedding_dim=4, cell="linear").double()
    x1, x2 = torch.randn(3, 5, 4, dtype=torch.float64), torch.randn(3, 5, 4, dtype=torch.float64)
    zero = torch.zeros_like(x1)

    def h(x):
        return model._linear_recurrence(x, None)[0]

    torch.testing.assert_close(h(x1 + x2) - h(zero), (h(x1) - h(zero)) + (h(x2) - h(zero)))


def test_unconditioned_model_rejects_categories_and_vice_versa(vocab: Vocab) -> None:
    x = torch.randint(4, len(vocab), (2, 3))
    with pytest.raises(ValueError, match="unconditioned"):
        _model(vocab, n_categories=0)(x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="conditioned on 3 categories"):
        _model(vocab)(x)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"cell": "transformer"}, "cell must be one of"), ({"hidden_size": 0}, "hidden_size"),
     ({"dropout": 1.0}, "dropout"), ({"cell": "linear", "num_layers": 2}, "num_layers=1")],
)
def test_bad_constructor_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CharGenerator(10, **{"hidden_size": 8, **kwargs})


def test_forward_rejects_float_inputs(vocab: Vocab) -> None:
    with pytest.raises(ValueError, match="int64 tensor"):
        _model(vocab, n_categories=0)(torch.zeros(2, 3))


# --------------------------------------------------------------------------- sampling


def test_next_char_probs_temperature_and_top_k() -> None:
    scores = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    p1 = next_char_probs(scores, 1.0)
    torch.testing.assert_close(p1, torch.softmax(scores, -1))
    torch.testing.assert_close(next_char_probs(scores, 0.0), torch.tensor([[0.0, 1.0, 0.0, 0.0]]))
    # lower temperature sharpens, higher flattens
    assert next_char_probs(scores, 0.5)[0, 1] > p1[0, 1] > next_char_probs(scores, 2.0)[0, 1]
    p2 = next_char_probs(scores, 1.0, top_k=2)
    assert p2[0, 0] == 0 and p2[0, 3] == 0
    torch.testing.assert_close(p2[0, [1, 2]], torch.softmax(torch.tensor([3.0, 2.0]), -1))
    torch.testing.assert_close(next_char_probs(scores, 1.0, top_k=10), p1)  # k > vocab keeps all


@pytest.mark.parametrize("temperature", [-0.1, float("nan"), float("inf")])
def test_bad_temperature_errors(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature"):
        next_char_probs(torch.zeros(1, 3), temperature)


@pytest.mark.parametrize("bad", ["1", True])
def test_temperature_must_be_a_number(bad: object) -> None:
    with pytest.raises(TypeError, match="temperature"):
        pick_next(torch.zeros(1, 3), bad)


@pytest.mark.parametrize(("top_k", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError)])
def test_bad_top_k_errors(top_k: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="top_k"):
        next_char_probs(torch.zeros(1, 3), 1.0, top_k)


def test_pick_next_greedy_cases() -> None:
    scores = torch.randn(50, 9, generator=torch.Generator().manual_seed(1))
    best = scores.argmax(-1)
    assert torch.equal(pick_next(scores, 0.0), best)
    assert torch.equal(pick_next(scores, 5.0, top_k=1), best)
    # a temperature near zero is greedy in practice too
    assert torch.equal(pick_next(scores, 1e-4, generator=torch.Generator().manual_seed(0)), best)


def test_pick_next_respects_top_k() -> None:
    scores = torch.arange(10.0).repeat(200, 1)
    picks = pick_next(scores, 3.0, top_k=3, generator=torch.Generator().manual_seed(0))
    assert set(picks.tolist()) == {7, 8, 9}


def test_sample_greedy_is_deterministic_and_starts_with_start(vocab: Vocab) -> None:
    model = _model(vocab)
    a = sample(model, vocab, "Ab", category=1, temperature=0.0, max_len=12)
    b = sample(model, vocab, "Ab", category=1, top_k=1, temperature=2.0, max_len=12)
    c = sample(model, vocab, "Ab", category=1, temperature=1e-6, max_len=12,
               generator=torch.Generator().manual_seed(3))
    assert a == b == c
    assert a.startswith("Ab") and len(a) <= 12


def test_sample_seeded_generator_repeats(vocab: Vocab) -> None:
    model = _model(vocab)
    draws = [sample(model, vocab, category=2, temperature=1.5, generator=torch.Generator().manual_seed(7))
             for _ in range(2)]
    assert draws[0] == draws[1]
    assert all(ch in vocab for ch in draws[0])  # no special token leaks into the text


def test_sample_stops_at_eos(vocab: Vocab) -> None:
    model = _model(vocab)
    with torch.no_grad():  # make EOS_ID overwhelmingly likely
        model.S.bias.zero_()
        model.S.bias[EOS_ID] = 100.0
    assert sample(model, vocab, "Xy", category=0, temperature=1.0) == "Xy"


def test_sample_never_draws_pad_sos_or_unk(vocab: Vocab) -> None:
    model = _model(vocab)
    with torch.no_grad():
        model.S.bias.zero_()
        model.S.bias[PAD_ID] = model.S.bias[SOS_ID] = model.S.bias[UNK_ID] = 100.0
    text = sample(model, vocab, category=0, temperature=1.0, max_len=5,
                  generator=torch.Generator().manual_seed(0))
    assert len(text) == 5 and all(ch in vocab for ch in text)


def test_sample_unconditioned_corpus_model_needs_a_start() -> None:
    v = Vocab.from_chars("abc \n")
    model = CharGenerator(len(v), 8, cell="rnn")
    with torch.no_grad():  # a corpus has no end: EOS_ID is never drawn, however likely
        model.S.bias[EOS_ID] = 100.0
    assert len(sample(model, v, "a", use_sos=False, max_len=30, temperature=1.0,
                      generator=torch.Generator().manual_seed(0))) == 30
    with pytest.raises(ValueError, match="start character"):
        sample(model, v, "", use_sos=False)


def test_sample_argument_errors(vocab: Vocab) -> None:
    model = _model(vocab)
    with pytest.raises(ValueError, match="category must be an int"):
        sample(model, vocab, category=3)
    with pytest.raises(ValueError, match="category must be an int"):
        sample(model, vocab)
    with pytest.raises(ValueError, match="temperature"):
        sample(model, vocab, category=0, temperature=-1.0)
    with pytest.raises(ValueError, match="max_len"):
        sample(model, vocab, category=0, max_len=0)
    with pytest.raises(TypeError, match="start"):
        sample(model, vocab, 5, category=0)


# --------------------------------------------------------------------------- data and evaluation


def test_encode_and_collate_names(vocab: Vocab) -> None:
    examples = encode_lm_examples(["Abe", "Li"], [2, 0], vocab)
    x0, c0, y0 = examples[0]
    assert x0.tolist() == [SOS_ID] + vocab.encode("Abe")
    assert y0.tolist() == vocab.encode("Abe") + [EOS_ID]
    assert c0 == 2
    inputs, cats, targets = collate_names(examples)
    assert inputs.shape == targets.shape == (2, 4)
    assert cats.tolist() == [2, 0]
    assert inputs[1].tolist() == [SOS_ID] + vocab.encode("Li") + [PAD_ID]
    assert targets[1].tolist() == vocab.encode("Li") + [EOS_ID, PAD_ID]


def test_encode_lm_examples_errors(vocab: Vocab) -> None:
    with pytest.raises(ValueError, match="one category per name"):
        encode_lm_examples(["Abe"], [0, 1], vocab)
    with pytest.raises(TypeError, match="list of strings"):
        encode_lm_examples("Abe", [0, 0, 0], vocab)
    with pytest.raises(ValueError, match="empty name"):
        encode_lm_examples([""], [0], vocab)


def test_corpus_windows() -> None:
    ids = torch.arange(11)
    x, y = corpus_windows(ids, 5)
    assert x.tolist() == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert y.tolist() == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    x, y = corpus_windows(list(range(8)), 3, stride=2)
    assert x.tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    assert torch.equal(y, x + 1)
    with pytest.raises(ValueError, match="at least"):
        corpus_windows(ids, 11)
    with pytest.raises(ValueError, match="1-D"):
        corpus_windows(torch.zeros(2, 5, dtype=torch.long), 2)


def test_lm_step_keeps_only_real_characters(vocab: Vocab) -> None:
    model = _model(vocab)
    batch = collate_names(encode_lm_examples(["Abe", "Li"], [2, 0], vocab))
    scores, targets = lm_step(model, batch, torch.device("cpu"))
    assert scores.shape == (4 + 3, len(vocab)) and targets.shape == (7,)
    assert (targets != PAD_ID).all()


def test_evaluate_per_char_matches_a_hand_computation(vocab: Vocab) -> None:
    model = _model(vocab)
    examples = encode_lm_examples(["Abe", "Li", "Moreau"], [2, 0, 1], vocab)
    loader = DataLoader(examples, batch_size=2, collate_fn=collate_names)
    result = evaluate_per_char(model, loader, device="cpu")
    total, n = 0.0, 0
    with torch.no_grad():
        for x, c, y in examples:
            scores, _ = model(x[None], torch.tensor([c]))
            total += float(nn.functional.cross_entropy(scores[0], y, reduction="sum"))
            n += len(y)
    assert result["n_chars"] == n == 4 + 3 + 7
    assert result["loss"] == pytest.approx(total / n, rel=1e-5)
    assert result["perplexity"] == pytest.approx(math.exp(total / n), rel=1e-5)
    assert result["bpc"] == pytest.approx(total / n / math.log(2), rel=1e-5)


def test_untrained_model_is_close_to_uniform(vocab: Vocab) -> None:
    """Small random weights give nearly uniform predictions: perplexity ~ vocabulary size."""
    model = _model(vocab)
    with torch.no_grad():
        model.S.weight.mul_(0.01)
        model.S.bias.zero_()
    loader = DataLoader(encode_lm_examples(["Abe", "Li"], [0, 1], vocab), batch_size=2, collate_fn=collate_names)
    assert evaluate_per_char(model, loader, device="cpu")["perplexity"] == pytest.approx(len(vocab), rel=0.02)


def test_a_few_steps_of_training_lower_the_loss(vocab: Vocab) -> None:
    from course_utils.training import train

    torch.manual_seed(0)
    names = ["Anna", "Anton", "Andrea", "Bob", "Bert", "Berta"] * 4
    data = encode_lm_examples(names, [0, 0, 0, 1, 1, 1] * 4, vocab)
    loader = DataLoader(data, batch_size=8, shuffle=True, collate_fn=collate_names)
    model = _model(vocab, n_categories=2)
    before = evaluate_per_char(model, loader, device="cpu")["loss"]
    train(model, loader, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.02),
          epochs=15, device="cpu", step_fn=lm_step, progress=False)
    after = evaluate_per_char(model, loader, device="cpu")["loss"]
    assert after < 0.5 * before
