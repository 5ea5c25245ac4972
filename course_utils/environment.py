"""One call at the top of every notebook: pick the device and seed everything.

>>> import course_utils
>>> device = course_utils.setup(seed=0)   # torch.device('cuda') or torch.device('cpu')

The device is CUDA when one is available, else the CPU. The environment
variable ``COURSE_DEVICE`` (``cpu`` or ``cuda``) overrides the choice; an
unknown value, or ``cuda`` on a machine without CUDA, is an error rather than a
silent fallback, so a GPU run that is really a CPU run never goes unnoticed.
"""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING

import numpy as np

from course_utils._validate import require_int

if TYPE_CHECKING:  # torch is imported on first use: the NumPy assignments never pay for it
    import torch

__all__ = ["DEVICE_ENV_VAR", "THREADS_ENV_VAR", "get_device", "seed_everything", "set_threads", "setup"]

DEVICE_ENV_VAR = "COURSE_DEVICE"
THREADS_ENV_VAR = "COURSE_THREADS"
_KNOWN_DEVICES = ("cpu", "cuda")


def get_device(name: str | None = None) -> torch.device:
    """Return the torch device the course should run on.

    Args:
        name: ``"cpu"``, ``"cuda"`` or ``None``. ``None`` reads ``COURSE_DEVICE``
            and, when that is unset or empty, picks CUDA if available else CPU.

    Raises:
        TypeError: ``name`` is not a string or None.
        ValueError: the name is not ``cpu``/``cuda``, or CUDA was asked for but
            is not available on this machine.
    """
    import torch

    source = "argument `name`"
    if name is None:
        name = os.environ.get(DEVICE_ENV_VAR, "").strip() or None
        source = f"environment variable {DEVICE_ENV_VAR}"
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(name, str):
        raise TypeError(f"device name must be a str such as 'cpu' or 'cuda', got {type(name).__name__}")
    key = name.strip().lower()
    if key not in _KNOWN_DEVICES:
        raise ValueError(
            f"unknown device {name!r} from {source}: expected one of {', '.join(_KNOWN_DEVICES)}"
        )
    if key == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"CUDA was requested by {source} but torch.cuda.is_available() is False on this machine; "
            f"unset {DEVICE_ENV_VAR} or set it to 'cpu'"
        )
    return torch.device(key)


def seed_everything(seed: int = 0, *, deterministic: bool = True, numpy_only: bool = False) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every CUDA device).

    With ``deterministic=True`` torch is asked for deterministic algorithms
    (``warn_only`` so an operation without a deterministic kernel warns rather
    than fails) and cuDNN's autotuner is switched off. ``numpy_only=True``
    seeds ``random`` and NumPy only and leaves torch unloaded.
    """
    require_int(seed, "seed", low=0, high=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    if numpy_only:
        return
    import torch

    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        # cuBLAS needs this set before its first use to be deterministic.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        _use_deterministic_algorithms()
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def _use_deterministic_algorithms() -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)`` without importing TorchInductor.

    The public call imports ``torch._inductor.config`` only to set its
    ``deterministic`` flag, which costs seconds (more than importing torch) in
    every notebook and every graded submission. When TorchInductor is not loaded
    yet, the same flag is set through the variable its config reads when it is
    first imported (``TORCHINDUCTOR_DETERMINISTIC``), so ``torch.compile`` stays
    deterministic; the eager-mode switch is set directly.
    """
    import sys

    import torch

    inductor_config = sys.modules.get("torch._inductor.config")
    if inductor_config is not None:
        inductor_config.deterministic = True
    else:
        os.environ["TORCHINDUCTOR_DETERMINISTIC"] = "1"
    torch._C._set_deterministic_algorithms(True, warn_only=True)


def set_threads(threads: int | None = None) -> int:
    """Set torch's CPU thread count; return the count in force.

    Args:
        threads: a positive int, or ``None`` to read ``COURSE_THREADS`` (unset:
            leave torch's default). The test suite sets ``COURSE_THREADS=1``
            because it runs two notebooks at once on two cores, and tiny models
            run faster on one uncontended thread than on two contended ones.
    """
    import torch

    source = "argument `threads`"
    if threads is None:
        raw = os.environ.get(THREADS_ENV_VAR, "").strip()
        if not raw:
            return torch.get_num_threads()
        source = f"environment variable {THREADS_ENV_VAR}"
        try:
            threads = int(raw)
        except ValueError:
            raise ValueError(f"{source} must be a positive integer, got {raw!r}") from None
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"{source} must be an int, got {type(threads).__name__}")
    if threads < 1:
        raise ValueError(f"{source} must be a positive integer, got {threads}")
    torch.set_num_threads(threads)
    return threads


def setup(seed: int = 0, *, device: str | None = None, deterministic: bool = True, verbose: bool = True,
          threads: int | None = None, numpy_only: bool = False) -> torch.device | None:
    """Seed everything and return the device: the first line of every notebook.

    Args:
        seed: seed for ``random``, NumPy and torch.
        device: ``"cpu"``/``"cuda"`` to force one; ``None`` reads ``COURSE_DEVICE``.
        deterministic: ask torch for deterministic algorithms.
        verbose: print one line saying which device and seed are in use.
        threads: CPU threads for torch; ``None`` reads ``COURSE_THREADS`` (see :func:`set_threads`).
        numpy_only: for a notebook that uses NumPy alone (assignments 01 and 02):
            seed ``random`` and NumPy, do not load torch (a second or more per
            kernel, paid by every graded submission), and return ``None``.

    Returns:
        The ``torch.device`` to put models and tensors on (``None`` with ``numpy_only``).
    """
    if numpy_only:
        if device is not None or threads is not None:
            raise ValueError("setup(numpy_only=True) loads no torch: device and threads must be left unset, "
                             f"got device={device!r}, threads={threads!r}")
        seed_everything(seed, numpy_only=True)
        if verbose:
            print(f"course_utils: NumPy {np.__version__}, seed={seed} (torch not loaded)")
        return None
    import torch

    dev = get_device(device)
    seed_everything(seed, deterministic=deterministic)
    n_threads = set_threads(threads)
    if verbose:
        print(f"course_utils: torch {torch.__version__}, device={dev.type}, seed={seed}, cpu threads={n_threads}")
    return dev
