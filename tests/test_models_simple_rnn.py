"""Tests for course_utils.models.simple_rnn."""

import pytest
import torch

from course_utils.models.simple_rnn import RNNLanguageModel, lm_loss


def test_shapes_and_hidden():
    torch.manual_seed(0)
    model = RNNLanguageModel(vocab_size=11, embedding_dim=4, hidden_size=6, num_layers=2)
    x = torch.randint(0, 11, (3, 5))
    logits, hidden = model(x, return_hidden=True)
    assert logits.shape == (3, 5, 11)
    assert hidden.shape == (2, 3, 6)


def test_matches_the_written_out_recurrence():
    torch.manual_seed(0)
    model = RNNLanguageModel(vocab_size=7, embedding_dim=3, hidden_size=4).double()
    x = torch.randint(0, 7, (2, 4))
    W, U = model.rnn.weight_hh_l0, model.rnn.weight_ih_l0
    b = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    h = torch.zeros(2, 4, dtype=torch.double)
    expected = []
    for i in range(4):
        h = torch.tanh(h @ W.T + model.embedding(x[:, i]) @ U.T + b)
        expected.append(model.S(h))
    torch.testing.assert_close(model(x), torch.stack(expected, dim=1))


def test_lm_loss_is_mean_token_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5)
    targets = torch.randint(0, 5, (2, 3))
    manual = -torch.log_softmax(logits, -1).gather(-1, targets[..., None]).mean()
    torch.testing.assert_close(lm_loss(logits, targets), manual)
    torch.testing.assert_close(lm_loss(logits, targets, reduction="sum"), manual * 6)
    with pytest.raises(ValueError):
        lm_loss(logits, targets[:, :2])


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = RNNLanguageModel(vocab_size=6, embedding_dim=4, hidden_size=8)
    ids = torch.tensor([[0, 2, 3, 4, 1], [0, 2, 5, 4, 1]])
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    before = lm_loss(model(ids[:, :-1]), ids[:, 1:])
    before.backward()
    opt.step()
    after = lm_loss(model(ids[:, :-1]), ids[:, 1:])
    assert after.item() < before.item()


@pytest.mark.parametrize(("kwargs", "error"), [(dict(vocab_size=0), ValueError), (dict(hidden_size=2.5), TypeError),
                                               (dict(nonlinearity="sigmoid"), ValueError)])
def test_bad_arguments(kwargs, error):
    args = dict(vocab_size=5, embedding_dim=3, hidden_size=4)
    args.update(kwargs)
    with pytest.raises(error):
        RNNLanguageModel(**args)


def test_rejects_float_input():
    model = RNNLanguageModel(5, 3, 4)
    with pytest.raises(TypeError, match="int64"):
        model(torch.zeros(2, 3))
