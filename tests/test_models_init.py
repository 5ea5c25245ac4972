"""Tests for course_utils.models (the package itself): CELLS and count_parameters."""

from __future__ import annotations

import pytest
from torch import nn

from course_utils.models import CELLS, count_parameters
from course_utils.models.chargen import GENERATOR_CELLS


def test_cells_are_pytorchs_recurrent_layers() -> None:
    assert CELLS == {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
    assert GENERATOR_CELLS == ("linear", "rnn", "gru", "lstm")  # the generator adds the tutorial's linear one


def test_count_parameters() -> None:
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 3))
    assert count_parameters(model) == 10 * 4 + 4 * 3 + 3
    model[0].weight.requires_grad_(False)
    assert count_parameters(model) == 4 * 3 + 3
    assert count_parameters(model, trainable_only=False) == 10 * 4 + 4 * 3 + 3
    tied = nn.Module()
    tied.a = nn.Linear(2, 2, bias=False)
    tied.b = tied.a  # the same layer twice: counted once
    assert count_parameters(tied) == 4
    with pytest.raises(TypeError, match="expects a torch.nn.Module, got list"):
        count_parameters([nn.Linear(1, 1)])
