"""Smoke test: the char-RNN benchmark's pieces run on a few names (no timing assertions)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from course_utils.data import load_names
from course_utils.data.loaders import make_name_loaders

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_charrnn.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_charrnn", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def tiny_names(bench):
    return bench.subsample(load_names(), per_language=10)


@pytest.fixture
def tiny(tiny_names):
    """Fresh loaders for every test: a bucketed sampler counts epochs, so a shared one would
    give each test a batch order that depends on the tests run before it."""
    return tiny_names, make_name_loaders(tiny_names, batch_size=8)


def test_subsample(bench, tiny) -> None:
    data, _ = tiny
    assert set(data.counts().values()) == {10}
    assert data.languages == load_names().languages


@pytest.mark.slow  # trains for its time budget
def test_train_within_budget(bench, tiny) -> None:
    _, loaders = tiny
    lines = []
    result = bench.train_within_budget(loaders, seconds=5, hidden_size=8, embedding_dim=4, max_epochs=3,
                                     log=lines.append)
    assert 0.0 <= result.test_accuracy <= 1.0 and 0.0 <= result.test_macro_f1 <= 1.0
    assert 1 <= result.best_epoch <= result.epochs == len(lines) <= 3
    assert result.train_seconds > 0


def test_compare_epoch_speed_and_table(bench, tiny) -> None:
    data, loaders = tiny
    speed = bench.compare_epoch_speed(data, loaders, hidden_size=8, repeats=1)
    assert speed.n_names == len(data.train)
    assert speed.n_chars == sum(len(n) for n, _ in data.train)
    assert speed.n_parameters_batched == speed.n_parameters_loop + 8  # same size: nn.RNN's extra bias
    assert speed.ratio > 0 and speed.loop_tokens_per_s > 0
    assert speed.batch_size == 8
    budget = bench.BudgetResult(0.9, 0.85, 0.9, 3, 5, 1.0)
    table, ok = bench.summary_table("offline", budget, speed, 1.0, min_accuracy=0.8, min_speedup=0.0)
    assert ok and "speed-up batched / loop" in table and "0.900" in table
    _, missed = bench.summary_table("offline", budget, speed, 1.0, min_accuracy=0.95, min_speedup=0.0)
    assert not missed
    # several seeds: the target is checked on the mean, min and max are shown
    runs = [bench.BudgetResult(0.78, 0.7, 0.8, 3, 5, 1.0), bench.BudgetResult(0.83, 0.7, 0.8, 3, 5, 1.0)]
    table, ok = bench.summary_table("offline", runs, speed, 1.0, min_accuracy=0.80, min_speedup=0.0,
                                    reference=budget, majority=0.106)
    assert ok and "mean of 2 seeds" in table and "0.805" in table and "min 0.780, max 0.830" in table
    assert "n-gram bag" in table and "0.106" in table
    _, missed = bench.summary_table("offline", runs, speed, 1.0, min_accuracy=0.81, min_speedup=0.0)
    assert not missed
    with pytest.raises(ValueError):
        bench.summary_table("offline", [], speed, 1.0, min_accuracy=0.8, min_speedup=0.0)


def test_ngram_reference_within_budget(bench, tiny) -> None:
    data, _ = tiny
    lines = []
    result = bench.train_ngram_within_budget(data, seconds=5, max_epochs=2, log=lines.append)
    assert 0.0 <= result.test_accuracy <= 1.0 and 1 <= result.best_epoch <= result.epochs == len(lines) <= 2


def test_main_end_to_end(bench, capsys) -> None:
    code = bench.main(["--seconds", "0.3", "--per-language", "10", "--repeats", "1", "--hidden-size", "8",
                       "--speed-batch-size", "16", "--seeds", "2", "--min-accuracy", "0", "--min-speedup", "0",
                       "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "test accuracy within 0.3 s, mean of 2 seeds" in out and "tokens/s" in out
    assert "seed 1" in out and "n-gram bag" in out and "always the largest language" in out
    # an unreachable target makes the exit status 1
    assert bench.main(["--seconds", "0.2", "--per-language", "10", "--repeats", "1", "--hidden-size", "8",
                       "--seeds", "1", "--no-reference", "--min-accuracy", "1.01", "--min-speedup", "0",
                       "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "MISSED" in out and "n-gram bag" not in out


def test_bad_source_exits_2(bench, capsys, tmp_path) -> None:
    assert bench.main(["--source", str(tmp_path / "missing.zip"), "--quiet"]) == 2
    assert "cannot load names" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--seconds", "0"], ["--seeds", "0"], ["--threads", "0"]])
def test_bad_arguments(bench, argv) -> None:
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
