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
      of making every later cell wait out its own timeout;
    * a time budget for the whole notebook (``assignment_budgets``, times
      ``grading_share``: the rest is the integrity re-check's), so cells that
      each stop just under the per-cell limit cannot cost an hour; past it the
      remaining cells are marked ``TimeBudgetExceeded`` and not run, and the
      seconds spent are appended to ``timing_file``;
    * caps on every output type, not only streams: rich display data
      (HTML, images, JSON, JavaScript...) past ``max_rich_output_bytes`` per
      cell and tracebacks past ``max_error_chars`` are replaced by a note;
    * the hidden tests stay out of the kernel's memory once they ran: test cells
      run with ``store_history=False`` (nothing in ``In``/``_ih``/``_i``, the
      history database or ``Out``), and after each one the grader removes its
      source from ``linecache`` and its traceback from ``sys.last_*``.

``RedactHiddenTests`` (feedback)
    Removes every line of the hidden tests from the outputs of the feedback
    notebook, whatever printed it: nbgrader's ``ClearHiddenTests`` only clears
    the test cells' *source*.

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
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbutils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Dict, Enum, Float, Integer, Unicode

__all__ = ["INSTRUCTOR_NOTES_TAG", "GradingExecute", "NeutralizeStderr", "RedactHiddenTests", "RemoveInstructorNotes"]

INSTRUCTOR_NOTES_TAG = "instructor-notes"

KERNEL_DIED = "KernelDied"
NOT_RUN = "CellNotRun"
BUDGET = "TimeBudgetExceeded"
CAPPED = "capped by the grader"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# Run silently after each test cell: forget its source and traceback. Built without the
# marker's literal text, so that this code (which IPython caches too) never matches itself.
_FORGET_TEST = (
    "(lambda _lc, _s, _ip, _m: ("
    "[_lc.cache.pop(_k, None) for _k in [k for k, v in list(_lc.cache.items()) "
    "if isinstance(v, tuple) and len(v) > 2 and _m in ''.join(v[2] or [])]], "
    "[_s.__dict__.pop(_n, None) for _n in ('last_type', 'last_value', 'last_traceback', 'last_exc')], "
    "setattr(_ip, 'last_execution_result', None) if _ip is not None else None))"
    "(__import__('linecache'), __import__('sys'), "
    "getattr(__import__('IPython'), 'get_ipython', lambda: None)(), 'BEGIN ' + 'HIDDEN TESTS')"
)
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

    assignment_budgets = Dict(
        {},
        help="Seconds one submission may take in total (grading and re-check) for each assignment id.",
    ).tag(config=True)

    grading_share = Float(
        0.5,
        help="Part of an assignment's budget the grading run may use; the rest is the integrity re-check's.",
    ).tag(config=True)

    timing_file = Unicode(
        "",
        help="Append one JSON line {student, assignment, seconds} per graded notebook here ('' : don't).",
    ).tag(config=True)

    prestarted = Bool(
        False,
        help="Take a kernel started ahead for grading (course_utils.instructor.prestart, purpose 'autograde') when "
             "one matches: make grade's workers start the next submission's kernel while one is re-checked.",
    ).tag(config=True)

    prestarted_max_age = Float(
        300.0,
        help="Seconds a kernel started ahead may have waited and still be taken (the sandbox's wall-time limit "
             "counts from its start).",
    ).tag(config=True)

    # nbclient's default, "graceful", asks the kernel to exit and then waits for it (about a second in the
    # sandbox). Every output is in the notebook by then, and the sandbox goes with the kernel's process group.
    shutdown_kernel = Enum(
        ["graceful", "immediate"],
        default_value="immediate",
        help="How the kernel is stopped after the last cell: 'immediate' kills it, 'graceful' waits for it to exit.",
    ).tag(config=True)

    max_rich_output_bytes = Integer(
        2 * 1024 * 1024,
        help="Rich display data (HTML, images, JSON, JavaScript...) kept per cell; the rest is replaced by a note.",
    ).tag(config=True)

    max_error_chars = Integer(
        50_000,
        help="Characters of one error's value and traceback kept; the rest is dropped.",
    ).tag(config=True)

    # --- per-assignment timeout -------------------------------------------------
    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        info = (resources or {}).get("nbgrader", {})
        assignment = info.get("assignment")
        self._grading_timeout = self.timeout_override or self.assignment_timeouts.get(assignment)
        self._kernel_dead: str | None = None
        self._check_responsive = False
        self._chars: dict[int, int] = {}
        self._rich: dict[int, int] = {}
        budget = self.assignment_budgets.get(assignment)
        self._budget = float(budget) * self.grading_share if budget else None
        self._started = time.monotonic()
        warm = self._take_prestarted(resources) if km is None else None
        try:
            return super().preprocess(nb, resources, warm.km if warm is not None else km)
        finally:
            if warm is not None:  # nbclient leaves a kernel it did not start running: stop it here
                if self.kc is not None:
                    self.kc.stop_channels()
                warm.close()
            self._write_timing(info.get("student"), assignment, time.monotonic() - self._started)

    def _take_prestarted(self, resources: Any) -> Any:
        """A kernel started ahead whose folder holds what this run's kernel would get, or None."""
        if not self.prestarted:
            return None
        from course_utils.instructor import prestart

        folder = (resources or {}).get("metadata", {}).get("path")
        files = prestart.kernel_folder_files(folder) if folder and os.path.isdir(folder) else None
        if files is None:
            return None
        warm = prestart.take_prestarted(self.kernel_name, purpose="autograde", files=files,
                                        max_age_s=self.prestarted_max_age, log=self.log.warning)
        if warm is not None:
            self.log.info("grading in a kernel started %.1f s ago", warm.age_s)
        return warm

    def _write_timing(self, student: Any, assignment: Any, seconds: float) -> None:
        if not self.timing_file or not student:
            return
        try:
            path = Path(self.timing_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                record = {"student": student, "assignment": assignment, "seconds": round(seconds, 2)}
                fh.write(json.dumps(record) + "\n")
        except OSError as exc:
            self.log.warning("could not record the grading time: %s", exc)

    def _remaining(self) -> float | None:
        if self._budget is None:
            return None
        return self._budget - (time.monotonic() - self._started)

    def _get_timeout(self, cell: NotebookNode | None) -> int | None:
        timeout = getattr(self, "_grading_timeout", None) or super()._get_timeout(cell)
        remaining = self._remaining() if hasattr(self, "_budget") else None
        if remaining is not None and timeout:
            return max(1, int(min(timeout, remaining + 1)))
        return int(timeout) if timeout else timeout

    # --- memory limit -----------------------------------------------------------
    def kernel_start_kwargs(self) -> dict[str, Any]:
        """What this run passes to ``start_kernel`` besides the folder; a kernel started ahead gets the same."""
        kwargs: dict[str, Any] = {"extra_arguments": list(self.extra_arguments)}
        if self.memory_limit_mb and self.memory_limit_mb > 0:
            limit = int(self.memory_limit_mb) * 1024 * 1024
            kwargs["preexec_fn"] = lambda: _limit_memory(limit)
        return kwargs

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        if "preexec_fn" in (start := self.kernel_start_kwargs()):
            kwargs.setdefault("preexec_fn", start["preexec_fn"])
        await super().async_start_new_kernel(**kwargs)

    # nbclient's synchronous setup_kernel() calls start_new_kernel, bound to the base class's coroutine
    start_new_kernel = run_sync(async_start_new_kernel)

    # --- output cap ---------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):  # type: ignore[override]  (nbclient's untyped signature)
        limit = self.max_output_chars
        kind = msg.get("msg_type")
        if kind in ("display_data", "execute_result", "update_display_data") and self.max_rich_output_bytes:
            data = msg.get("content", {}).get("data", {}) or {}
            size = sum(len(v) if isinstance(v, str) else len(json.dumps(v, default=str)) for v in data.values())
            used = self._rich.get(cell_index, 0)
            self._rich[cell_index] = used + size
            if used + size > self.max_rich_output_bytes:
                note = (f"... a display of {size} bytes was {CAPPED} "
                        f"({self.max_rich_output_bytes} bytes of rich output per cell) ...")
                content = {**msg["content"], "data": {"text/plain": note}, "metadata": {}}
                msg = {**msg, "content": content}
        elif kind == "error" and self.max_error_chars:
            content = dict(msg.get("content", {}))
            tb = [str(line) for line in content.get("traceback", [])]
            if len(str(content.get("evalue", ""))) + sum(map(len, tb)) > self.max_error_chars:
                keep = self.max_error_chars // 2
                content["evalue"] = str(content.get("evalue", ""))[:keep]
                kept, total = [], 0
                for line in tb:
                    if total + len(line) > keep:
                        break
                    kept.append(line)
                    total += len(line)
                content["traceback"] = kept + [f"... traceback {CAPPED} ..."]
                msg = {**msg, "content": content}
        if limit and kind == "stream":
            text = msg["content"].get("text", "")
            used = self._chars.get(cell_index, 0)
            self._chars[cell_index] = used + len(text)
            if used >= limit:
                return None
            if used + len(text) > limit:
                capped = text[: limit - used] + "\n" + OUTPUT_CAPPED.format(limit=limit)
                msg = {**msg, "content": {**msg["content"], "text": capped}}
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
        remaining = self._remaining()
        if remaining is not None and remaining <= 0 and cell.cell_type == "code":
            self._kernel_dead = f"the submission used up its time budget of {self._budget:.0f} s"
            cell.outputs = [_error_output(BUDGET, f"not run: {self._kernel_dead}")]
            cell.execution_count = None
            self.log.error("Time budget used up at cell %s; later cells are not run", index)
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
            if cell.cell_type == "code" and nbutils.is_grade(cell) and not nbutils.is_solution(cell):
                return self._run_test_cell(cell, resources, index)
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            # Raised (rather than recorded) when the kernel stays busy after the interrupt:
            # the cell swallows KeyboardInterrupt or is stuck in C code. Stop that kernel.
            self._kernel_dead = "the kernel kept running after a timed-out cell was interrupted; it was shut down"
            self.log.error("Kernel unresponsive after interrupting cell %s; shutting it down", index)
            cell.outputs.append(_error_output("CellTimeoutError",
                                              "the cell ran past the time limit and ignored the interrupt"))
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

    def _run_test_cell(self, cell: NotebookNode, resources: Any, index: int):
        """Run a test cell outside the input history, then make the kernel forget its source."""
        self._check_assign_resources(resources)
        cell = self.execute_cell(cell, index, store_history=False)
        try:
            assert self.kc is not None
            msg_id = self.kc.execute(_FORGET_TEST, silent=True, store_history=False)
            run_sync(self.async_wait_for_reply)(msg_id)
        except Exception as exc:  # a dead or busy kernel: the next cell's handling takes over
            self.log.warning("could not clear the test cell from the kernel: %s", exc)
        return cell, self.resources

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


class RedactHiddenTests(NbGraderPreprocessor):
    """Remove the hidden tests' lines from every output of the feedback notebook (see module docstring).

    Lines shorter than ``min_chars`` (``pass``, a bracket) are left alone: they
    give nothing away and would match ordinary output.
    """

    min_chars = Integer(12, help="Shortest hidden-test line (stripped) that is redacted.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any):
        lines: set[str] = set()
        for cell in nb.cells:
            if cell.cell_type != "code" or not nbutils.is_grade(cell) or nbutils.is_solution(cell):
                continue
            inside = False
            for line in cell.source.splitlines():
                if line.strip() == HIDDEN_BEGIN:
                    inside = True
                elif line.strip() == HIDDEN_END:
                    inside = False
                elif inside and len(line.strip()) >= self.min_chars:
                    lines.add(line.strip())
        self._hidden = sorted(lines, key=len, reverse=True)
        return super().preprocess(nb, resources)

    def _redact(self, text: Any) -> Any:
        if not isinstance(text, str) or not self._hidden:
            return text
        for line in self._hidden:
            if line in text:
                text = text.replace(line, "[hidden test line removed by the grader]")
        return text

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if "text" in output:
                output["text"] = self._redact(output["text"])
            if "evalue" in output:
                output["evalue"] = self._redact(output["evalue"])
            if "traceback" in output:
                output["traceback"] = [self._redact(line) for line in output["traceback"]]
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, str):
                    output["data"][mime] = self._redact(value)
        return cell, resources
