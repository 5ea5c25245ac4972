"""A throw-away Python environment that sees the main .venv's third-party packages but not course_utils.

Used by the edition and wheel tests, which must not reinstall torch & co. (minutes, and the network)
yet must prove that the student edition or the wheel brings its own ``course_utils``.

How: ``python -m venv --without-pip`` makes an empty environment on the same interpreter; a ``.pth``
file in its site-packages lists the main .venv's site-packages directory, so ``import torch`` works.
Python only reads ``.pth`` files inside site directories, not inside directories a ``.pth`` file
adds, so the main .venv's editable install of course_utils (its ``__editable__*.pth`` hook) is not
active there: ``import course_utils`` fails until the test puts the edition on the path or installs
the wheel. (``--system-site-packages`` would not do: it exposes the base interpreter's packages, not
the .venv's, and hides nothing.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

KERNEL = "rnn-course"


def make_overlay_env(path: Path, *extra_paths: Path) -> Path:
    """Create the environment at ``path`` (extra_paths also on sys.path); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    base = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    lines = [str(p) for p in extra_paths] + sorted(base)
    (site / "_course_overlay.pth").write_text("\n".join(lines) + "\n")
    # JupyterLab's built application and the prebuilt extensions (widgets, nbgrader) live in the data
    # folder of the main .venv; link them in so that JupyterLab started from here finds them. The
    # configuration (etc/jupyter, where page_config.json goes) stays the environment's own.
    main_data = Path(sys.prefix) / "share" / "jupyter"
    (path / "share" / "jupyter").mkdir(parents=True, exist_ok=True)
    for name in ("lab", "labextensions"):
        if (main_data / name).is_dir():
            (path / "share" / "jupyter" / name).symlink_to(main_data / name)
    return python


def install_kernel(python: Path) -> None:
    """Register the course kernel inside the environment, running its own python."""
    subprocess.run([str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL,
                    "--display-name", "RNN course (Python 3)"], check=True, capture_output=True)
    spec = json.loads((python.parent.parent / "share/jupyter/kernels" / KERNEL / "kernel.json").read_text())
    assert Path(spec["argv"][0]) == python, spec


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without anything that would point Python or Jupyter elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER_", "PYTHON", "PYTEST_", "VIRTUAL_ENV", "COV_"))}
    env.setdefault("MPLBACKEND", "Agg")
    env.update(extra)
    return env


def run(python: Path, *args: str, cwd: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    """Run ``python args...`` in ``cwd`` with a clean environment; the output is captured as text."""
    return subprocess.run([str(python), *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
