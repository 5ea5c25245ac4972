"""pytest plugin: the lectures' hidden claim checks, run by nbval after the cell they belong to.

A lecture states claims in its prose ("the two distributions are identical", "the RNN beats the
window floor"). The student must not read test machinery, and a student who changes a
hyperparameter to explore must never hit an AssertionError, so the statements that guard a claim
live in the cell's metadata, not in its source::

    {"cell_type": "code",
     "metadata": {"course": {"checks": ["assert torch.equal(p_cat, p_dog)",
                                        "assert rnn_losses[-1] < window_floor - 0.05"]}},
     "source": "..."}

JupyterLab keeps cell metadata out of sight (it shows only in the property inspector), and
``jupyter nbconvert --execute`` ignores it; only the test suite runs the checks. With
``pytest --nbval-lax`` this plugin wraps every collected notebook cell that has checks: nbval runs
the cell (and compares its outputs when the cell has the ``nbval-check-output`` tag), then each
check statement runs, one at a time, in the same kernel, as if appended to the cell. They run as
separate executions rather than as text glued to the cell so that the cell's own displayed result
(its last expression) is unchanged and nbval compares exactly what the student sees. A check that
raises fails the cell's test with the statement and the kernel's error.

Output checks need no plugin: nbval reads the cell tag ``nbval-check-output`` itself (the tag form
of the ``# NBVAL_CHECK_OUTPUT`` comment), so taught numbers stay checked without a marker line in
the student's cell.

Loaded for every run from the repository root by ``-p tests.nbval_checks`` in pyproject.toml's
pytest ``addopts``.
"""

from __future__ import annotations

from queue import Empty
from typing import Any

import pytest

METADATA_KEY = "course"
CHECKS_KEY = "checks"
CHECK_TIMEOUT_S = 120


class ClaimCheckError(Exception):
    """A hidden claim check of a lecture cell failed (or could not run)."""


def cell_checks(cell: Any) -> list[str]:
    """The check statements of a notebook cell: ``cell.metadata["course"]["checks"]``, or ``[]``.

    Raises:
        TypeError: the metadata is there but is not a list of strings.
    """
    course = cell.get("metadata", {}).get(METADATA_KEY, {})
    checks = course.get(CHECKS_KEY, []) if isinstance(course, dict) else []
    if not isinstance(checks, list) or not all(isinstance(c, str) and c.strip() for c in checks):
        raise TypeError(f"cell metadata {METADATA_KEY}.{CHECKS_KEY} must be a list of non-empty strings "
                        f"(Python statements), got {checks!r}")
    return checks


def run_check(kernel: Any, statement: str, timeout: float = CHECK_TIMEOUT_S) -> str | None:
    """Run one statement in nbval's kernel; return the error text, or None when it ran cleanly."""
    msg_id = kernel.execute_cell_input(statement, allow_stdin=False)
    error = None
    while True:
        try:
            msg = kernel.get_message(stream="iopub", timeout=timeout)
        except Empty:
            return f"no reply from the kernel within {timeout} s"
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            content = msg["content"]
            error = f"{content['ename']}: {content['evalue']}"
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return error


def _wrap(item: pytest.Item, checks: list[str]) -> None:
    run_cell = item.runtest

    def runtest() -> None:
        run_cell()  # nbval: execute the cell, compare its outputs if it is tagged
        kernel = item.parent.kernel
        for statement in checks:
            error = run_check(kernel, statement)
            if error is not None:
                raise ClaimCheckError(
                    f"{item.path.name}, code cell {item.cell_num}: the claim check\n    {statement}\n"
                    f"failed with {error}\n(the check is in this cell's metadata course.checks)")

    item.runtest = runtest  # type: ignore[method-assign]  (the hook wraps this one item's runtest)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval absent: no notebook items either
        return
    for item in items:
        if isinstance(item, IPyNbCell):
            checks = cell_checks(item.cell)
            if checks:
                _wrap(item, checks)
