"""Grade integrity: what the sandbox cannot prevent inside one kernel is detected, per submission.

The sandbox (:mod:`course_utils.instructor.sandbox`) stops a submission from
reading the hidden tests' files, touching other files, reaching the network or
exhausting the machine. What it cannot stop is tampering inside the one Python
process that runs both the student's cells and the grader's test cells. The
review finds it, outside the kernel, and flags the submission with the reason.
One module per step:

* :mod:`.quarantine` (before grading): a submission keeps its notebooks and
  nothing else; links, devices, huge files and every non-notebook file go to
  ``grading/quarantine/``, with the reason.
* :mod:`.scan` (after grading): a static scan of the cells the student wrote,
  for the constructs that can change how the tests run.
* :mod:`.recheck` (after grading): a second verdict from values that come
  out of the student's kernel and a trusted kernel, compared outside.
* :mod:`.report`: the ``flagged`` column of ``grades.csv`` and ``integrity.json``.
* :mod:`.cells`: which cell is a test, an answer, a locked cell (nbgrader's predicates).

:func:`review` runs the scan and the re-check for every submission. It never
fails as a whole: whatever goes wrong with one submission (a notebook that is
not JSON, a cell nested too deeply for the parser, a kernel that dies) is
caught and becomes a flag of that submission, with the reason.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path

from course_utils.instructor.integrity.cells import is_answer_cell, is_locked_cell, is_student_cell, is_test_cell
from course_utils.instructor.integrity.quarantine import MAX_SUBMITTED_FILE_BYTES, sanitize_submissions
from course_utils.instructor.integrity.recheck import plan_recheck, read_notebook, recheck_submission
from course_utils.instructor.integrity.report import FLAG_COLUMN, add_flag_column, write_report
from course_utils.instructor.integrity.scan import Finding, protected_names, scan_code, scan_notebook, student_cells

__all__ = [
    "FLAG_COLUMN",
    "MAX_SUBMITTED_FILE_BYTES",
    "Finding",
    "Review",
    "add_flag_column",
    "is_answer_cell",
    "is_locked_cell",
    "is_student_cell",
    "is_test_cell",
    "plan_recheck",
    "protected_names",
    "recheck_submission",
    "review",
    "review_notebook",
    "sanitize_submissions",
    "scan_code",
    "scan_notebook",
    "student_cells",
    "verify_checks",
    "write_report",
]


class Review(dict):
    """``{(student, assignment): [reason, ...]}`` (flagged submissions only), plus ``problems``.

    ``problems`` maps the same keys to what could not be checked and why (not
    accusations): they go to ``problems.csv``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.problems: dict[tuple[str, str], list[str]] = {}


def review_notebook(nb_path: Path, release_nb: Mapping, source_nb: Mapping | None) -> list[str]:
    """Static-scan one submitted or autograded notebook file; reasons to flag it (never raises)."""
    try:
        nb = read_notebook(nb_path)
        if nb is None:
            return []  # not a notebook: nbgrader could not grade it either (scored 0, in problems.csv)
        cells = nb.get("cells")
        if not isinstance(cells, list):
            return [f"{nb_path.name}: the notebook has no list of cells; review it by hand"]
        return [f"{nb_path.name}: {finding}" for finding in scan_notebook(nb, release_nb, source_nb)]
    except Exception as exc:  # the review of one notebook must not stop the others
        return [f"{nb_path.name}: the integrity scan failed ({type(exc).__name__}: {str(exc)[:200]}); "
                "review it by hand"]


def review(
    course_dir: str | os.PathLike,
    assignments: Iterable[str],
    *,
    kernel_name: str = "rnn-course-sandbox",
    sanitized: Mapping[tuple[str, str], Iterable[str]] | None = None,
    verify: str | None = None,
    timeout: int | None = None,
    budget_s: Mapping[str, float] | float | None = None,
    env: Mapping[str, str] | None = None,
) -> Review:
    """Everything to flag after ``nbgrader autograde``: ``{(student, assignment): [reason, ...]}``.

    Args:
        course_dir: the course directory.
        assignments: assignment ids that were graded.
        kernel_name: kernel for the re-check runs (the sandbox, normally).
        sanitized: what :func:`sanitize_submissions` moved out before grading.
        verify: ``"all"`` (re-check every submission that earned points on a
            test cell with checks), ``"flagged"`` (only those the static scan
            flagged), or ``"none"``. Default: the environment variable
            ``RNN_INTEGRITY_VERIFY``, else ``"all"``.
        timeout: per-cell timeout of a re-check run (default: the assignment's
            grading timeout from ``nbgrader_config.ASSIGNMENTS``, else 60 s).
        budget_s: seconds a submission's re-check may take in total (a number,
            or assignment id -> number; default: what the assignment's time
            budget leaves after grading, see ``nbgrader_config.ASSIGNMENTS``).
        env: extra environment for the re-check kernels (e.g. ``RNN_SANDBOX_*`` limits).

    Returns:
        A :class:`Review`; its ``problems`` list what could not be re-checked.
    """
    verify = (verify or os.environ.get("RNN_INTEGRITY_VERIFY") or "all").lower()
    if verify not in ("all", "flagged", "none"):
        raise ValueError(f"verify must be 'all', 'flagged' or 'none', got {verify!r}")
    root = Path(course_dir)
    flags = Review()
    for key, reasons in (sanitized or {}).items():
        flags.setdefault(tuple(key), []).extend(reasons)  # type: ignore[arg-type]
    settings = _assignment_settings(root)
    for assignment in assignments:
        try:
            _review_assignment(root, assignment, flags, kernel_name=kernel_name, verify=verify,
                               timeout=timeout or int(settings.get(assignment, {}).get("timeout", 60)),
                               budget_s=_budget_for(budget_s, settings, assignment), env=env)
        except Exception as exc:  # e.g. the release is missing: every submission of it is flagged, not lost
            reason = f"the integrity review of {assignment} failed ({type(exc).__name__}: {str(exc)[:200]})"
            for student in _students(root, assignment):
                flags.setdefault((student, assignment), []).append(reason)
    result = Review()
    result.update({k: v for k, v in flags.items() if v})
    result.problems = {k: v for k, v in flags.problems.items() if v}
    return result


def _assignment_settings(root: Path) -> dict[str, dict]:
    try:
        from course_utils.instructor.autograde import load_course_config

        return dict(load_course_config(root).get("ASSIGNMENTS", {}))
    except Exception:
        return {}


def _budget_for(budget_s: Mapping[str, float] | float | None, settings: Mapping[str, dict],
                assignment: str) -> float | None:
    if isinstance(budget_s, Mapping):
        return budget_s.get(assignment)
    if budget_s is not None:
        return float(budget_s)
    total = settings.get(assignment, {}).get("budget")
    return float(total) if total else None


def _students(root: Path, assignment: str) -> list[str]:
    base = root / "grading" / "submitted"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.is_symlink() and (p / assignment).is_dir())


def _grading_seconds(root: Path, student: str, assignment: str) -> float:
    """Seconds the grading run of this submission took (written by GradingExecute), 0 when unknown."""
    import json

    path = root / "grading" / "timing.jsonl"
    seconds = 0.0
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if rec.get("student") == student and rec.get("assignment") == assignment:
                seconds = float(rec.get("seconds", 0.0))
    except (OSError, ValueError, AttributeError):
        pass
    return seconds


def _review_assignment(root: Path, assignment: str, flags: Review, *, kernel_name: str, verify: str,
                       timeout: int, budget_s: float | None, env: Mapping[str, str] | None) -> None:
    release_dir = root / "assignments" / assignment
    source_dir = root / "solutions" / assignment
    for student in _students(root, assignment):
        key = (student, assignment)
        sub = root / "grading" / "submitted" / student / assignment
        for nb_path in sorted(p for p in sub.glob("*.ipynb") if not p.is_symlink()):
            try:
                release_nb = read_notebook(release_dir / nb_path.name) or {"cells": []}
                source_nb = read_notebook(source_dir / nb_path.name)
                graded = root / "grading" / "autograded" / student / assignment / nb_path.name
                target = graded if graded.is_file() else nb_path
                reasons = review_notebook(target, release_nb, source_nb)
                flags.setdefault(key, []).extend(reasons)
                if verify == "none" or source_nb is None or not graded.is_file():
                    continue
                if verify == "flagged" and not flags.get(key):
                    continue
                graded_nb = read_notebook(graded)
                if graded_nb is None:
                    continue
                remaining = None
                if budget_s is not None:
                    remaining = max(budget_s - _grading_seconds(root, student, assignment), 0.0)
                start = time.monotonic()
                more_flags, problems = recheck_submission(graded_nb, source_nb, kernel_name=kernel_name,
                                                          timeout=timeout, budget_s=remaining, env=env)
                flags.setdefault(key, []).extend(f"{nb_path.name}: {r}" for r in more_flags)
                flags.problems.setdefault(key, []).extend(f"{nb_path.name}: {p}" for p in problems)
                flags.problems.setdefault(key, [])
                _ = time.monotonic() - start
            except Exception as exc:  # one submission's failure is that submission's flag
                detail = traceback.format_exception_only(type(exc), exc)[-1].strip()[:300]
                flags.setdefault(key, []).append(f"{nb_path.name}: could not be reviewed ({detail}); review it by hand")


def verify_checks(
    graded_nb_path: str | os.PathLike,
    source_nb: Mapping,
    *,
    kernel_name: str = "rnn-course-sandbox",
    timeout: int = 60,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """The re-check of one autograded notebook file: reasons to flag it (see :mod:`.recheck`).

    Kept for callers of the first version (the formgrader's ``IntegrityReview`` step);
    what could not be re-checked is left out here (:func:`review` reports it as problems).
    """
    graded = read_notebook(graded_nb_path)
    if graded is None:
        return [f"{Path(graded_nb_path).name} could not be read for the re-check; review it by hand"]
    try:
        flags, _ = recheck_submission(graded, source_nb, kernel_name=kernel_name, timeout=timeout, env=env)
    except Exception as exc:  # the grading step that calls this must not fail with it
        return [f"the re-check failed ({type(exc).__name__}: {str(exc)[:200]}); review it by hand"]
    return flags
