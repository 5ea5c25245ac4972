"""course_utils.environment: device choice, seeding, and the errors a student may meet."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import course_utils
from course_utils.environment import DEVICE_ENV_VAR, get_device, seed_everything, setup


def test_default_device_follows_cuda_availability(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device().type == expected


def test_env_var_selects_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_ENV_VAR, "CPU ")
    assert get_device() == torch.device("cpu")


def test_argument_beats_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_ENV_VAR, "gpu")  # invalid, but not read when an argument is given
    assert get_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "tpu", "cuda:7x", "mps"])
def test_unknown_device_name_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(DEVICE_ENV_VAR, bad)
    with pytest.raises(ValueError, match=r"unknown device .*expected one of cpu, cuda"):
        get_device()


def test_non_string_device_name_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="device name must be a str"):
        get_device(0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA, so asking for it is not an error")
def test_unavailable_cuda_is_an_error_not_a_silent_cpu_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_ENV_VAR, "cuda")
    with pytest.raises(ValueError, match=r"CUDA was requested .*is_available\(\) is False"):
        setup(verbose=False)


def test_seeding_makes_python_numpy_and_torch_repeat() -> None:
    def draw() -> tuple[float, float, list[float]]:
        return random.random(), float(np.random.rand()), torch.rand(3).tolist()

    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True])
def test_bad_seed(seed: object) -> None:
    with pytest.raises((TypeError, ValueError), match="seed must be"):
        seed_everything(seed)


def test_setup_returns_device_and_reports_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    device = course_utils.setup(seed=7)
    assert device == torch.device("cpu")
    out = capsys.readouterr().out
    assert "device=cpu" in out and "seed=7" in out
    assert torch.are_deterministic_algorithms_enabled()


def test_threads_from_argument_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from course_utils.environment import THREADS_ENV_VAR, set_threads

    before = torch.get_num_threads()
    try:
        assert set_threads(1) == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv(THREADS_ENV_VAR, "2")
        assert set_threads() == 2 and torch.get_num_threads() == 2
        monkeypatch.setenv(THREADS_ENV_VAR, "two")
        with pytest.raises(ValueError, match="COURSE_THREADS must be a positive integer, got 'two'"):
            set_threads()
        with pytest.raises(ValueError, match="positive integer, got 0"):
            set_threads(0)
        with pytest.raises(TypeError, match="must be an int"):
            set_threads(1.5)
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_deterministic_mode_without_importing_inductor() -> None:
    """setup() asks for deterministic algorithms like torch.use_deterministic_algorithms(True, warn_only=True),
    without the seconds of importing TorchInductor; torch.compile, when it loads it later, is deterministic too."""
    code = (
        "import sys, course_utils\n"
        "course_utils.setup(0, verbose=False)\n"
        "import torch\n"
        "assert 'torch._inductor.config' not in sys.modules, 'TorchInductor was imported'\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "import torch._inductor.config as c\n"
        "assert c.deterministic is True\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_DETERMINISTIC"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_setup_numpy_only_seeds_numpy_and_never_loads_torch():
    """Assignments 01 and 02 use NumPy alone: their kernels (graded twice per submission) skip torch."""
    code = (
        "import sys, numpy as np, course_utils, course_utils.checks, course_utils.gradcheck\n"
        "assert course_utils.setup(seed=3, numpy_only=True) is None\n"
        "a = np.random.rand(); np.random.seed(3); assert a == np.random.rand()\n"
        "course_utils.checks.check_close('x', np.ones(2), np.ones(2))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "seed=3 (torch not loaded)" in out.stdout


def test_setup_numpy_only_refuses_torch_settings():
    with pytest.raises(ValueError, match="numpy_only"):
        setup(seed=0, numpy_only=True, device="cpu")
