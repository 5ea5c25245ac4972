"""Shared test configuration.

- matplotlib draws off screen;
- tests that start servers, kernels or graders are marked ``slow`` (``make unit`` skips them);
- the offline data cache of a test run lives in a temporary folder unless COURSE_DATA_DIR is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent

# Test modules that start JupyterLab, a browser, nbgrader or a sandbox: minutes, not seconds.
SLOW_PREFIXES = ("test_lab", "test_browser", "test_grading_assignments", "test_grading_bad",
                 "test_grading_release", "test_grading_sandbox", "test_grading_attacks")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.suffix == ".py" and item.path.name.startswith(SLOW_PREFIXES):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the course directory)."""
    return ROOT
