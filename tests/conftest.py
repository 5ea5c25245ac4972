"""Shared test configuration.

- matplotlib draws off screen;
- torch runs on one CPU thread for the whole session (see the block below);
- tests that start servers, kernels or graders carry an explicit ``@pytest.mark.slow`` (or a
  module-level ``pytestmark``) in their own file; ``make unit`` skips them;
- every test starts from the same torch switches and random state (``_isolate_torch_state``);
- the offline data cache of a test run lives in a temporary folder unless COURSE_DATA_DIR is set.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent


# --- torch threads and per-test isolation (issue 19) ------------------------------------------
# One place sets the thread count for the whole session. The course's models are tiny: on the
# two shared cores of a test run (two xdist workers) one uncontended thread is many times faster
# than torch's default of one thread per core fighting the other worker. Kernels that tests start
# (nbval, nbgrader) inherit COURSE_THREADS, which course_utils.setup() reads.
TEST_THREADS = 1
os.environ.setdefault("COURSE_THREADS", str(TEST_THREADS))
torch.set_num_threads(TEST_THREADS)


# environment variables that course_utils.setup()/seed_everything() set for deterministic runs
_ENV_SET_BY_SETUP = ("CUBLAS_WORKSPACE_CONFIG", "TORCHINDUCTOR_DETERMINISTIC")


@pytest.fixture(autouse=True)
def _isolate_torch_state() -> Iterator[None]:
    """Undo what a test changed in torch's global switches, the random generators and threads.

    ``course_utils.setup``/``seed_everything`` turn on deterministic algorithms and reseed every
    generator; without this a test that calls them would change how every later test of the same
    worker runs.
    """
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    rng = (random.getstate(), np.random.get_state(), torch.random.get_rng_state())
    env = {name: os.environ.get(name) for name in _ENV_SET_BY_SETUP}
    yield
    if (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()) != (
            deterministic, warn_only):
        # The eager-mode switch itself, as course_utils.environment sets it: the public
        # torch.use_deterministic_algorithms also imports TorchInductor (seconds) to set its flag.
        torch._C._set_deterministic_algorithms(deterministic, warn_only=warn_only)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
    random.setstate(rng[0])
    np.random.set_state(rng[1])
    torch.random.set_rng_state(rng[2])
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    torch.set_num_threads(TEST_THREADS)
# --- end of the threads and isolation block ---------------------------------------------------


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the course directory)."""
    return ROOT
