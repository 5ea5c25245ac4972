"""Release and grade the course's assignments with nbgrader.

The course directory is the repository (``nbgrader_config.py`` at its root):
``solutions/`` is nbgrader's source, ``assignments/`` its release (committed),
and everything a grading run produces lives under the git-ignored ``grading/``.

Instructor commands (``make release`` / ``make grade`` call these)::

    python -m course_utils.instructor release          # solutions/ -> assignments/
    python -m course_utils.instructor grade            # grade grading/submitted/ in the sandbox
    python -m course_utils.instructor grade --no-sandbox   # (or SANDBOX=0) unsandboxed, with a warning
    python -m course_utils.instructor zip-collect 01_forward_and_loss   # LMS downloads -> submitted/

The nbgrader commands behind them:

* release: ``nbgrader generate_assignment "*" --force`` (every assignment in
  one process; this also records the assignments, their notebooks, test
  cells, points and checksums in the gradebook).
* grade: ``nbgrader generate_assignment "*" --force
  --CourseDirectory.release_directory=grading/release_check`` (brings the
  gradebook up to date on a fresh checkout without touching the committed
  release, and warns when ``assignments/`` is stale), then
  ``nbgrader autograde <a> --Execute.kernel_name=<kernel>``,
  ``nbgrader generate_feedback <a>`` and finally
  ``nbgrader export --to grading/grades.csv``.

For tests (and the grading sandbox's tests), :func:`make_course_copy` and
:func:`grade_submissions` grade a batch of submission notebooks in a
throw-away copy of the course with a single ``nbgrader autograde`` call.
"""

from __future__ import annotations

import csv
import filecmp
import os
import runpy
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "COURSE_ROOT",
    "DEFAULT_KERNEL",
    "GRADING_THREADS_ENV",
    "SANDBOX_KERNEL",
    "CellResult",
    "CollectResult",
    "GradeReport",
    "SubmissionResult",
    "assignment_ids",
    "collect_zips",
    "grade",
    "grade_submissions",
    "grading_kernel",
    "load_course_config",
    "make_course_copy",
    "read_results",
    "release",
    "solution_submission",
]

COURSE_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_KERNEL = "rnn-course"
SANDBOX_KERNEL = "rnn-course-sandbox"
GRADING_DIR = "grading"
RELEASE_CHECK_DIR = f"{GRADING_DIR}/release_check"

#: What a submission may be in :func:`grade_submissions`: a notebook, the raw
#: file contents (str/bytes, need not be valid JSON), a path to copy, or None
#: for "the student handed in a folder without the notebook".
Submission = nbformat.NotebookNode | dict | str | bytes | Path | None


class GradingError(RuntimeError):
    """A grading step could not run at all (as opposed to a submission that failed)."""


# --- configuration -----------------------------------------------------------------


def load_course_config(course_dir: Path | str = COURSE_ROOT) -> dict[str, Any]:
    """Run ``nbgrader_config.py`` of ``course_dir`` and return its globals.

    ``ASSIGNMENTS`` (id -> {"timeout": seconds}) and ``c`` (the traitlets
    Config) are the useful ones.
    """
    from traitlets.config import Config

    path = Path(course_dir) / "nbgrader_config.py"
    if not path.is_file():
        raise FileNotFoundError(f"no nbgrader_config.py in {course_dir}: is this the course directory?")
    config = Config()
    return runpy.run_path(str(path), init_globals={"get_config": lambda: config})


def assignment_ids(course_dir: Path | str = COURSE_ROOT) -> list[str]:
    """The assignment ids, in teaching order, from ``nbgrader_config.ASSIGNMENTS``."""
    return list(load_course_config(course_dir)["ASSIGNMENTS"])


def grading_kernel(sandbox: bool) -> str:
    """The kernel autograding runs: the sandboxed one, or the course kernel with a warning.

    The sandbox's kernelspec is installed by
    ``course_utils.instructor.sandbox.ensure_sandbox_kernel()`` (imported lazily,
    so grading without the sandbox never needs it).
    """
    if not sandbox:
        message = (
            "grading WITHOUT the sandbox: submissions run as you, with your files and network "
            f"(kernel {DEFAULT_KERNEL!r}). Only do this for code you trust."
        )
        warnings.warn(message, stacklevel=2)
        print(f"WARNING: {message}", file=sys.stderr)
        return DEFAULT_KERNEL
    try:
        from course_utils.instructor.sandbox import ensure_sandbox_kernel
    except ImportError as exc:
        raise GradingError(
            "the grading sandbox is not available (course_utils.instructor.sandbox could not be imported: "
            f"{exc}). Grade with --no-sandbox (make grade SANDBOX=0) only if you trust every submission."
        ) from exc
    try:
        return ensure_sandbox_kernel()
    except RuntimeError as exc:  # e.g. bubblewrap missing or no user namespaces on this machine
        raise GradingError(
            f"the grading sandbox cannot run here: {exc}. Fix that, or grade with --no-sandbox "
            "(make grade SANDBOX=0) only if you trust every submission."
        ) from exc


# --- running nbgrader ----------------------------------------------------------------


# One thread per kernel: a grading machine runs one kernel per core, and
# oversubscribed OpenMP threads make small models many times slower.
GRADING_THREADS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                       "COURSE_THREADS": "1"}  # COURSE_THREADS: read by course_utils.setup()


def _grading_env() -> dict[str, str]:
    env = dict(os.environ)
    # nbgrader runs `alembic` (gradebook migrations) from PATH: use this environment's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for key, value in GRADING_THREADS_ENV.items():
        env.setdefault(key, value)
    env.pop("COURSE_GRADING_KERNEL", None)  # the kernel is always passed explicitly
    return env


def _nbgrader(course_dir: Path, *args: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course_dir, env=_grading_env(), text=True, capture_output=True)
    log = course_dir / GRADING_DIR / "nbgrader.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as fh:  # every run's output, for the instructor
        fh.write(f"\n$ nbgrader {' '.join(args)}   (exit code {proc.returncode})\n{proc.stdout}{proc.stderr}")
    if not quiet and proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise GradingError(f"`nbgrader {' '.join(args)}` failed with exit code {proc.returncode}:\n{tail}")
    return proc


def _safepath_args(kernel: str) -> list[str]:
    """nbgrader options for a run whose kernel this module chose: a non-sandbox kernel was asked for
    explicitly (SANDBOX=0 or a test), and the integrity review runs here, after autograding."""
    args = ["--IntegrityReview.enabled=False"]
    if kernel != SANDBOX_KERNEL:
        args.append("--RequireSandbox.allow_unsandboxed=True")
    return args


# --- release -------------------------------------------------------------------------


def release(course_dir: Path | str = COURSE_ROOT, assignments: Iterable[str] | None = None, *,
            release_directory: str | None = None) -> list[Path]:
    """Generate the student version of every assignment into ``assignments/``.

    Runs ``nbgrader generate_assignment "*" --force`` (or one call per id when
    only some are asked for), which also updates the gradebook. The output is deterministic: the same solutions give
    byte-identical notebooks, which the release test relies on.

    Args:
        course_dir: the course directory.
        assignments: ids to release (default: all, from the config).
        release_directory: write somewhere else than ``assignments/`` (relative
            to the course directory), e.g. to compare with the committed release.
    Returns:
        The released notebook paths.
    """
    course_dir = Path(course_dir)
    all_ids = assignment_ids(course_dir)
    ids = list(assignments) if assignments is not None else all_ids
    extra = [f"--CourseDirectory.release_directory={release_directory}"] if release_directory else []
    target = course_dir / (release_directory or "assignments")
    for aid in ids:
        if not (course_dir / "solutions" / aid).is_dir():
            known = sorted(p.name for p in (course_dir / "solutions").iterdir())
            raise GradingError(f"no solutions/{aid}/ in {course_dir}; known: {known}")
    if sorted(ids) == sorted(p.name for p in (course_dir / "solutions").iterdir() if p.is_dir()):
        # one nbgrader process for everything: its start-up dominates the cost
        _nbgrader(course_dir, "generate_assignment", "*", "--force", *extra)
    else:
        for aid in ids:
            _nbgrader(course_dir, "generate_assignment", aid, "--force", *extra)
    return [p for aid in ids for p in sorted((target / aid).glob("*.ipynb"))]


def solution_submission(assignment: str, *, course_dir: Path | str = COURSE_ROOT,
                        overrides: Mapping[str, str] | None = None) -> nbformat.NotebookNode:
    """A submission as a student who wrote the model solution would hand it in.

    The released notebook with every answer cell (code and written) filled in
    from ``solutions/`` (without the ``### BEGIN/END SOLUTION`` markers).

    Args:
        assignment: the assignment id.
        course_dir: where ``solutions/`` and ``assignments/`` are.
        overrides: grade_id -> source, to replace some answers (mutants, attacks).
    """
    course_dir = Path(course_dir)
    sol = nbformat.read(course_dir / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    sub = nbformat.read(course_dir / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {
        c.metadata["nbgrader"]["grade_id"]: "\n".join(
            line for line in c.source.split("\n") if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
        )
        for c in sol.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    answers.update(overrides or {})
    unknown = set(overrides or {}) - {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in sub.cells}
    if unknown:
        raise KeyError(f"no cells {sorted(unknown)} in {assignment}")
    for cell in sub.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers and (cell.metadata["nbgrader"].get("solution") or gid in (overrides or {})):
            cell.source = answers[gid]
    return sub


def _sync_gradebook(course_dir: Path, ids: list[str]) -> list[str]:
    """Record the assignments in the gradebook; return ids whose committed release is stale."""
    release(course_dir, ids, release_directory=RELEASE_CHECK_DIR)
    stale = []
    for aid in ids:
        fresh, committed = course_dir / RELEASE_CHECK_DIR / aid, course_dir / "assignments" / aid
        names = sorted(p.name for p in fresh.glob("*.ipynb"))
        if not committed.is_dir() or filecmp.cmpfiles(fresh, committed, names, shallow=False)[1:] != ([], []):
            stale.append(aid)
    return stale


# --- results ---------------------------------------------------------------------------


@dataclass
class CellResult:
    """The score of one graded cell."""

    score: float
    max_score: float
    needs_manual_grade: bool = False


@dataclass
class SubmissionResult:
    """What grading made of one student's submission of one assignment.

    Attributes:
        score, max_score: total points (manual cells not yet graded count 0).
        cells: grade_id -> CellResult for every graded cell.
        graded: the autograded notebook exists (False: nbgrader could not
            process the submission at all, e.g. it is not valid JSON or the
            notebook is missing; it then scores 0).
        problems: short descriptions of what went wrong (for the report).
        autograded_path: the executed notebook, when there is one.
    """

    student: str
    assignment: str
    score: float
    max_score: float
    cells: dict[str, CellResult] = field(default_factory=dict)
    graded: bool = True
    problems: list[str] = field(default_factory=list)
    autograded_path: Path | None = None

    def question_scores(self) -> dict[str, float]:
        """Points per question, a question being the ``qN`` prefix of the cell ids."""
        out: dict[str, float] = {}
        for gid, cell in self.cells.items():
            q = gid.split("_")[0]
            out[q] = out.get(q, 0.0) + cell.score
        return out

    def outputs(self, grade_id: str) -> str:
        """All text the cell ``grade_id`` printed or raised in the autograded notebook."""
        if self.autograded_path is None:
            return ""
        nb = nbformat.read(self.autograded_path, as_version=4)
        for cell in nb.cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
                return cell_output_text(cell)
        return ""


def cell_output_text(cell: Any) -> str:
    """The text a cell printed or raised: its streams, error names and values, and text/plain outputs."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
        elif "data" in out:
            parts.append(str(out["data"].get("text/plain", "")))
    return "".join(parts)


def read_results(course_dir: Path | str, assignment: str,
                 students: Iterable[str] | None = None) -> dict[str, SubmissionResult]:
    """Read the gradebook of ``course_dir``: one :class:`SubmissionResult` per student.

    Students default to every folder under ``grading/submitted/`` holding this assignment.
    """
    from nbgrader.api import Gradebook, MissingEntry

    course_dir = Path(course_dir)
    cfg = load_course_config(course_dir)["c"]
    submitted = course_dir / GRADING_DIR / "submitted"
    if students is None:
        students = sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())
    results: dict[str, SubmissionResult] = {}
    with Gradebook(cfg.CourseDirectory.db_url) as gb:
        max_score = float(gb.find_assignment(assignment).max_score)
        notebooks = [nb.name for nb in gb.find_assignment(assignment).notebooks]
        for student in students:
            problems: list[str] = []
            autograded_dir = course_dir / GRADING_DIR / "autograded" / student / assignment
            paths = [autograded_dir / f"{name}.ipynb" for name in notebooks]
            graded = all(p.is_file() for p in paths)
            for name in notebooks:
                if not (submitted / student / assignment / f"{name}.ipynb").is_file():
                    problems.append(f"{name}.ipynb was not submitted")
            if not graded:
                problems.append("nbgrader could not grade the submission (see the autograde log); it scores 0")
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                results[student] = SubmissionResult(student, assignment, 0.0, max_score, graded=False,
                                                    problems=problems + ["no submission in the gradebook"])
                continue
            cells: dict[str, CellResult] = {}
            for snb in sub.notebooks:
                for g in snb.grades:
                    score = float(g.score) if (graded and g.score is not None) else 0.0
                    cells[g.name] = CellResult(score, float(g.max_score), bool(g.needs_manual_grade) and graded)
            if graded:
                for path in paths:
                    nb = nbformat.read(path, as_version=4)
                    for cell in nb.cells:
                        text = cell_output_text(cell)
                        if "KernelDied" in text and "the kernel process exited" in text:
                            problems.append("the kernel died while running the notebook; later cells were not run")
                        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "a cell")
                        if "CellTimeoutError" in text:
                            problems.append(f"{gid} ran past the time limit")
                        if "TimeBudgetExceeded" in text:
                            problems.append("the submission used up its time budget; later cells were not run")
                        if "capped by the grader" in text:
                            problems.append(f"{gid}: output over the grader's cap was dropped")
            total = sum(c.score for c in cells.values())
            results[student] = SubmissionResult(
                student, assignment, total, max_score, cells, graded, sorted(set(problems)),
                paths[0] if graded and paths else None,
            )
    return results


# --- grading a batch in a course copy ------------------------------------------------------


def make_course_copy(dest: Path | str, course_dir: Path | str = COURSE_ROOT) -> Path:
    """Copy what grading needs (config, solutions, release) into ``dest``; return it.

    The copy has no ``grading/`` folder, so it starts with an empty gradebook.
    ``course_utils`` itself is imported from the installed package.
    """
    src, dest = Path(course_dir), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "nbgrader_config.py", dest / "nbgrader_config.py")
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for folder in ("solutions", "assignments"):
        if (src / folder).is_dir():
            shutil.copytree(src / folder, dest / folder, ignore=ignore, dirs_exist_ok=True)
    return dest


def _write_submission(folder: Path, notebook_name: str, submission: Submission) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook_name}.ipynb"
    if submission is None:
        return
    if isinstance(submission, Path):
        shutil.copy2(submission, path)
    elif isinstance(submission, bytes):
        path.write_bytes(submission)
    elif isinstance(submission, str):
        path.write_text(submission, encoding="utf-8")
    else:
        nbformat.write(nbformat.from_dict(submission), str(path))


def grade_submissions(
    course_dir: Path | str,
    assignment: str,
    submissions: Mapping[str, Submission],
    *,
    kernel_name: str = DEFAULT_KERNEL,
    timeout: int | None = None,
    feedback: bool = False,
    extra_args: Iterable[str] = (),
) -> dict[str, SubmissionResult]:
    """Grade several submissions of one assignment with one ``nbgrader autograde`` call.

    Meant for tests: ``course_dir`` should be a throw-away copy made with
    :func:`make_course_copy` (its gradebook and ``grading/`` are written to).

    Args:
        course_dir: the course copy.
        assignment: the assignment id, e.g. ``"01_forward_and_loss"``.
        submissions: student id -> submission: a notebook (``NotebookNode``
            or dict), raw file contents (``str``/``bytes``, e.g. invalid JSON),
            a ``Path`` to copy, or ``None`` (the student's folder exists but
            holds no notebook). Each is written to
            ``grading/submitted/<student>/<assignment>/<assignment>.ipynb``.
        kernel_name: the kernel that runs the submissions (``"rnn-course"``,
            or ``"rnn-course-sandbox"`` for the sandbox).
        timeout: per-cell timeout overriding the assignment's configured one.
        feedback: also run ``nbgrader generate_feedback``.
        extra_args: more ``--Class.trait=value`` options for ``nbgrader autograde``.
    Returns:
        student id -> :class:`SubmissionResult` (score, per-cell scores,
        whether nbgrader could grade it at all, problems, autograded notebook).
        A submission nbgrader cannot process does not stop the others.
    """
    course_dir = Path(course_dir)
    _sync_gradebook(course_dir, [assignment])
    for student, submission in submissions.items():
        folder = course_dir / GRADING_DIR / "submitted" / student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        _write_submission(folder, assignment, submission)
    args = ["autograde", assignment, "--force", f"--Execute.kernel_name={kernel_name}", *_safepath_args(kernel_name),
            *extra_args]
    if timeout is not None:
        args.append(f"--GradingExecute.timeout_override={int(timeout)}")
    # nbgrader exits non-zero when any submission failed; the others are still graded.
    _nbgrader(course_dir, *args, check=False, quiet=True)
    if feedback:
        _nbgrader(course_dir, "generate_feedback", assignment, "--force", check=False, quiet=True)
    return read_results(course_dir, assignment, list(submissions))


# --- the instructor's grading run ----------------------------------------------------------


@dataclass
class GradeReport:
    """The outcome of :func:`grade`: results per assignment and where the files are."""

    kernel: str
    results: dict[str, dict[str, SubmissionResult]]
    grades_csv: Path
    stale_releases: list[str]
    seconds: float

    def summary(self) -> str:
        lines = [f"graded with kernel {self.kernel!r} in {self.seconds:.0f} s"]
        if self.kernel != DEFAULT_KERNEL:
            try:
                from course_utils.instructor.sandbox import sandbox_features

                lines += [f"sandbox: {name} {state}" for name, state in sandbox_features().items()]
            except Exception as exc:  # the report must still come out
                lines.append(f"sandbox: could not tell which hard limits apply ({exc})")
        for aid, by_student in self.results.items():
            lines.append(f"{aid}: {len(by_student)} submission(s)")
            for student, r in sorted(by_student.items()):
                flag = "" if not r.problems else "   <- " + "; ".join(r.problems)
                lines.append(f"  {student:<20} {r.score:g} / {r.max_score:g}{flag}")
        if self.stale_releases:
            lines.append("WARNING: assignments/ differs from a fresh release for " + ", ".join(self.stale_releases)
                         + ": students may have a different version (run `make release` and commit).")
        lines.append(f"grades exported to {self.grades_csv}")
        return "\n".join(lines)


def grade(
    sandbox: bool = True,
    *,
    course_dir: Path | str = COURSE_ROOT,
    assignments: Iterable[str] | None = None,
    timeout: int | None = None,
    force: bool = False,
    feedback: bool = True,
) -> GradeReport:
    """Autograde everything under ``grading/submitted/``, generate feedback, export ``grading/grades.csv``.

    Args:
        sandbox: run submissions in the sandboxed kernel ``rnn-course-sandbox``
            (default). ``False`` runs them in the course kernel, with a warning.
        course_dir: the course directory.
        assignments: only these assignment ids (default: every one with submissions).
        timeout: per-cell timeout overriding the configured per-assignment ones.
        force: re-grade submissions that were already autograded.
        feedback: generate the HTML feedback in ``grading/feedback/``.
    """
    start = time.perf_counter()
    course_dir = Path(course_dir)
    kernel = grading_kernel(sandbox)
    from course_utils.instructor import integrity

    # Links, FIFOs, devices and huge files leave grading/submitted/ before nbgrader (outside the
    # sandbox) copies anything: it would follow a link to solutions/.
    quarantined = integrity.sanitize_submissions(course_dir)
    (course_dir / GRADING_DIR / "timing.jsonl").unlink(missing_ok=True)  # seconds per submission, this run
    ids = list(assignments) if assignments is not None else assignment_ids(course_dir)
    submitted = course_dir / GRADING_DIR / "submitted"
    with_work = [a for a in ids if any(submitted.glob(f"*/{a}"))]
    stale = _sync_gradebook(course_dir, ids) if ids else []
    results: dict[str, dict[str, SubmissionResult]] = {}
    for aid in with_work:
        args = ["autograde", aid, f"--Execute.kernel_name={kernel}", *_safepath_args(kernel)]
        if force:
            args.append("--force")
        if timeout is not None:
            args.append(f"--GradingExecute.timeout_override={int(timeout)}")
        _nbgrader(course_dir, *args, check=False)
        if feedback:
            _nbgrader(course_dir, "generate_feedback", aid, "--force", check=False)
        results[aid] = read_results(course_dir, aid)
    _register_students(course_dir)
    grades_csv = course_dir / GRADING_DIR / "grades.csv"
    grades_csv.parent.mkdir(parents=True, exist_ok=True)
    _nbgrader(course_dir, "export", f"--to={grades_csv}")
    # Tampering that cannot be prevented inside one kernel is detected: a `flagged` column, with reasons.
    # The review catches every failure per submission; should it fail as a whole anyway, every
    # submission is flagged with the reason, and the column is written all the same.
    try:
        flags = integrity.review(course_dir, with_work, kernel_name=kernel, sanitized=quarantined)
    except Exception as exc:
        reason = f"the integrity review did not run ({type(exc).__name__}: {exc}); review by hand"
        flags = integrity.Review()
        flags.update({(s, a): [reason] for a, by_student in results.items() for s in by_student})
    integrity.add_flag_column(grades_csv, flags)
    integrity.write_report(course_dir / GRADING_DIR / "integrity.json", flags)
    _write_problems(course_dir / GRADING_DIR / "problems.csv", results, getattr(flags, "problems", {}))
    report = GradeReport(kernel, results, grades_csv, stale, time.perf_counter() - start)
    print(report.summary())
    return report


def _register_students(course_dir: Path) -> None:
    """Every folder under grading/submitted/ is a student, even one who handed in no notebook.

    nbgrader only learns about students whose folders hold a notebook; without
    this, such a student would be missing from grades.csv instead of scoring 0.
    """
    from nbgrader.api import Gradebook

    submitted = course_dir / GRADING_DIR / "submitted"
    if not submitted.is_dir():
        return
    with Gradebook(load_course_config(course_dir)["c"].CourseDirectory.db_url) as gb:
        for folder in sorted(p for p in submitted.iterdir() if p.is_dir()):
            gb.update_or_create_student(folder.name)


def _write_problems(path: Path, results: Mapping[str, Mapping[str, SubmissionResult]],
                    review_problems: Mapping[tuple[str, str], Iterable[str]] | None = None) -> None:
    """One row per submission that needs the instructor's attention (grading's and the review's problems)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["assignment", "student", "score", "max_score", "problems"])
        for aid, by_student in results.items():
            for student, r in sorted(by_student.items()):
                problems = [*r.problems, *(review_problems or {}).get((student, aid), [])]
                if problems:
                    writer.writerow([aid, student, r.score, r.max_score, " | ".join(problems)])


@dataclass
class CollectResult:
    """What :func:`collect_zips` did: where the submissions went, and what it skipped and why."""

    submitted: Path
    rejected: list[tuple[str, str]]  # (file in the download, reason)

    def summary(self) -> str:
        lines = [f"collected into {self.submitted}"]
        lines += [f"SKIPPED {name}: {reason}" for name, reason in self.rejected]
        return "\n".join(lines)


def collect_zips(assignment: str, course_dir: Path | str = COURSE_ROOT) -> CollectResult:
    """Run ``nbgrader zip_collect <assignment>``: LMS downloads -> ``grading/submitted/``.

    Put the downloaded files (zip archives or notebooks named
    ``<student id>_<notebook>.ipynb``) in ``grading/downloads/<assignment>/archive/``.
    The plugins of :mod:`course_utils.instructor.zip_collect` (installed by
    ``nbgrader_config.py``) skip a student id that is not a plain name and an
    archive that is broken or unsafe, and carry on with the others; what they
    skipped is in the result (and in ``grading/downloads/<assignment>/rejected.csv``).
    """
    from course_utils.instructor.zip_collect import REJECTED_FILE, read_rejections

    course_dir = Path(course_dir)
    download = course_dir / GRADING_DIR / "downloads" / assignment
    archive = download / "archive"
    if not archive.is_dir() or not any(archive.iterdir()):
        raise GradingError(f"nothing to collect: put the LMS download for {assignment} in {archive}")
    (download / REJECTED_FILE).unlink(missing_ok=True)
    _nbgrader(course_dir, "zip_collect", assignment, "--force")
    return CollectResult(course_dir / GRADING_DIR / "submitted", read_rejections(download))
