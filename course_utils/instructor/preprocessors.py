"""nbgrader preprocessors that make autograding robust to what students submit.

Registered in ``nbgrader_config.py`` (``Autograde.autograde_preprocessors``):

``GradingExecute``
    nbgrader's ``Execute`` plus:

    * a time limit per assignment (``assignment_timeouts``), because nbgrader
      has one configuration for every assignment while a NumPy exercise and a
      training exercise need very different budgets;
    * a memory limit on the kernel process (``RLIMIT_DATA``, inherited by
      whatever launcher the kernelspec uses, e.g. the grading sandbox), so a
      memory blow-up becomes a ``MemoryError`` in one cell rather than the OOM
      killer taking the grader down;
    * an output cap while the cell runs (``max_output_chars``), so a flood of
      ``print`` does not fill the grader's memory (nbgrader's ``LimitOutput``
      only trims *after* execution);
    * survival of a dead kernel (``os._exit``, a segfault, the memory limit):
      the cell that killed it gets an error, every later code cell gets a
      "not run" error, and the notebook is still graded (nbgrader would drop
      the whole submission);
    * a kernel that ignores the interrupt after a timeout (a loop that swallows
      ``KeyboardInterrupt``) is killed after ``interrupt_grace`` seconds instead
      of making every later cell wait out its own timeout.

``NeutralizeStderr``
    nbgrader scores a test cell 0 when it writes *anything* to stderr. A correct
    answer may well do that (a torch ``UserWarning``, a tqdm progress bar,
    ``logging``). This preprocessor runs right after execution and relabels
    stderr stream outputs of *test* cells as stdout, so the text still shows in
    the feedback but no longer costs marks. Errors (``output_type == "error"``)
    are untouched, so failing assertions and exceptions still score 0.
    Relabelling, rather than silencing stderr in the kernel (``PYTHONWARNINGS``,
    ``TQDM_DISABLE``), covers every source of stderr, including ones we cannot
    foresee, and keeps the kernel identical to the one students use.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbutils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Float, Integer

__all__ = ["INSTRUCTOR_NOTES_TAG", "GradingExecute", "NeutralizeStderr", "RemoveInstructorNotes"]

INSTRUCTOR_NOTES_TAG = "instructor-notes"

KERNEL_DIED = "KernelDied"
NOT_RUN = "CellNotRun"
OUTPUT_CAPPED = "... output capped by the grader ({limit} characters per cell); the rest was dropped ...\n"


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error",
        ename=ename,
        evalue=evalue,
        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"],
    )


def _limit_memory(limit_bytes: int) -> None:
    """``preexec_fn`` for the kernel process: cap its writable memory."""
    resource.setrlimit(resource.RLIMIT_DATA, (limit_bytes, limit_bytes))


class GradingExecute(Execute):
    """nbgrader's ``Execute`` with per-assignment timeouts, limits and crash survival."""

    assignment_timeouts = Dict(
        {},
        help="Per-cell timeout in seconds for each assignment id; others use Execute.timeout.",
    ).tag(config=True)

    timeout_override = Integer(
        None,
        allow_none=True,
        help="When set, every assignment uses this per-cell timeout (the grade driver's --timeout).",
    ).tag(config=True)

    memory_limit_mb = Integer(
        4096,
        help="RLIMIT_DATA of the kernel process in MiB (0: no limit). Lower it on shared machines.",
    ).tag(config=True)

    max_output_chars = Integer(
        200_000,
        help="Stream output kept per cell while it runs; the rest is dropped (0: no cap).",
    ).tag(config=True)

    interrupt_grace = Float(
        5.0,
        help="Seconds a kernel may take to answer after a timed-out cell was interrupted before it is killed.",
    ).tag(config=True)

    # --- per-assignment timeout -------------------------------------------------
    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        assignment = (resources or {}).get("nbgrader", {}).get("assignment")
        self._grading_timeout = self.timeout_override or self.assignment_timeouts.get(assignment)
        self._kernel_dead: str | None = None
        self._check_responsive = False
        self._chars: dict[int, int] = {}
        return super().preprocess(nb, resources, km)

    def _get_timeout(self, cell: NotebookNode | None) -> int | None:
        timeout = getattr(self, "_grading_timeout", None)
        if timeout:
            return int(timeout)
        return super()._get_timeout(cell)

    # --- memory limit -----------------------------------------------------------
    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        if self.memory_limit_mb and self.memory_limit_mb > 0:
            limit = int(self.memory_limit_mb) * 1024 * 1024
            kwargs.setdefault("preexec_fn", lambda: _limit_memory(limit))
        await super().async_start_new_kernel(**kwargs)

    # nbclient's synchronous setup_kernel() calls start_new_kernel, bound to the base class's coroutine
    start_new_kernel = run_sync(async_start_new_kernel)

    # --- output cap ---------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):  # type: ignore[override]
        limit = self.max_output_chars
        if limit and msg.get("msg_type") == "stream":
            text = msg["content"].get("text", "")
            used = self._chars.get(cell_index, 0)
            self._chars[cell_index] = used + len(text)
            if used >= limit:
                return None
            if used + len(text) > limit:
                msg = {**msg, "content": {**msg["content"], "text": text[: limit - used] + "\n" + OUTPUT_CAPPED.format(limit=limit)}}
        return super().output(outs, msg, display_id, cell_index)

    # --- dead or stuck kernels ----------------------------------------------------------
    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None):
        self._check_responsive = True
        return await super()._async_handle_timeout(timeout, cell)

    async def _async_kernel_responds(self) -> bool:
        """After an interrupted timeout: does the kernel answer within the grace period?"""
        assert self.kc is not None
        msg_id = self.kc.kernel_info()
        deadline = asyncio.get_running_loop().time() + self.interrupt_grace
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            try:
                reply = await self.kc.shell_channel.get_msg(timeout=remaining)
            except Exception:  # queue.Empty or a closed channel
                return False
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return True

    def _mark_not_run(self, cell: NotebookNode) -> None:
        if cell.cell_type == "code":
            cell.outputs = [_error_output(NOT_RUN, f"not run because {self._kernel_dead}")]
            cell.execution_count = None

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if self._kernel_dead:
            self._mark_not_run(cell)
            return cell, resources
        if self._check_responsive and cell.cell_type == "code":
            self._check_responsive = False
            if not self._kernel_responds_sync():
                self._kernel_dead = (
                    f"the kernel did not respond {self.interrupt_grace:g}s after a timed-out cell was interrupted; "
                    "it was shut down"
                )
                self.log.error("Kernel unresponsive after interrupt; shutting it down")
                self._shutdown_kernel_now()
                self._mark_not_run(cell)
                return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            # Raised (rather than recorded) when the kernel stays busy after the interrupt:
            # the cell swallows KeyboardInterrupt or is stuck in C code. Stop that kernel.
            self._kernel_dead = "the kernel kept running after a timed-out cell was interrupted; it was shut down"
            self.log.error("Kernel unresponsive after interrupting cell %s; shutting it down", index)
            cell.outputs.append(_error_output("CellTimeoutError", "the cell ran past the time limit and ignored the interrupt"))
            self._shutdown_kernel_now()
            return cell, resources
        except DeadKernelError:
            self._kernel_dead = f"the kernel died while running cell {index}"
            self.log.error("Kernel died in cell %s; later cells are marked as not run", index)
            cell.outputs.append(
                _error_output(
                    KERNEL_DIED,
                    "the kernel process exited while running this cell (os._exit, a crash, "
                    "or the grader's memory limit); later cells were not run",
                )
            )
            return cell, resources

    def _kernel_responds_sync(self) -> bool:
        return run_sync(self._async_kernel_responds)()

    def _shutdown_kernel_now(self) -> None:
        try:
            if self.km is not None:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as exc:  # the kernel may already be gone
            self.log.warning("could not shut the kernel down cleanly: %s", exc)


class NeutralizeStderr(NbGraderPreprocessor):
    """Relabel stderr stream outputs of autograded test cells as stdout (see module docstring)."""

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int):
        if cell.cell_type == "code" and nbutils.is_grade(cell) and not nbutils.is_solution(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
        return cell, resources


class RemoveInstructorNotes(NbGraderPreprocessor):
    """Drop cells tagged ``instructor-notes`` from the release (see module docstring)."""

    def preprocess(self, nb: NotebookNode, resources: Any):
        for cell in nb.cells:
            meta = cell.get("metadata", {})
            if INSTRUCTOR_NOTES_TAG in meta.get("tags", []) and meta.get("nbgrader"):
                raise ValueError(f"a cell tagged {INSTRUCTOR_NOTES_TAG!r} must not be an nbgrader cell: "
                                 f"{cell.source[:80]!r}")
        nb.cells = [c for c in nb.cells if INSTRUCTOR_NOTES_TAG not in c.get("metadata", {}).get("tags", [])]
        return nb, resources
