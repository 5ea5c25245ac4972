"""Grade a class in parallel on Dask distributed, one task per submission.

``make grade`` (``python -m course_utils.instructor grade``) calls
:func:`grade_class`. What happens, in order:

1. **Canary.** The instructor's solution of every assignment to grade is
   graded first, as a student would hand it in, by the same task on the same
   cluster with the same kernel. Anything short of full marks and no flags
   (a broken sandbox, a moved virtual environment, a kernel that dies at
   start) stops the run with :class:`~course_utils.instructor.autograde.GradingError`
   naming the cause, before anything is written to the course's gradebook.
2. The submitted folders are sanitised (links, FIFOs, huge files quarantined),
   the gradebook learns the assignments, and every submission not in the
   gradebook yet (all of them with ``force``) becomes one task.
3. **Each task** (:func:`grade_submission`, run by a Dask worker) builds a
   scratch course of its own (the configuration, that assignment's source and
   release, a gradebook that knows only the assignment, the one submission),
   runs nbgrader's autograde on it with the sandboxed kernel, the integrity
   review and the feedback, and returns everything as plain data
   (:class:`GradedSubmission`). The worker never runs student code itself: it
   runs nbgrader, which starts the sandbox kernel and reads its messages.
   nbgrader runs inside the worker process, so its start-up is paid once per
   worker, not once per submission.
4. **One writer.** The client process (this one) is the only one that writes
   the course's gradebook (``CourseDirectory.db_url``: sqlite by default, any
   database nbgrader supports): each result lands in one transaction
   (:class:`GradebookWriter`), so a partial submission never appears. Its files
   (autograded notebook, feedback, report) are written before the transaction,
   so a row in the gradebook means the submission is complete.
5. ``grades.csv`` (with the integrity ``flagged`` column), ``integrity.json``
   and ``problems.csv`` are rebuilt from every graded submission.

Fault tolerance comes from the design: a task has no side effect outside its
scratch folder, so when a worker dies mid-submission Dask runs the task again
on another worker and only one result reaches the writer; a run stopped by
Ctrl-C or a crash leaves only complete submissions behind, and the next run
grades only what is missing. A submission that kills its sandbox or runs out
of time is graded as such by nbgrader (0 for the cells that did not run) and
listed in ``problems.csv``; one whose task fails outright (it killed three
workers in a row, say) is listed there too, has no row, and the others go on.

    from course_utils.instructor.parallel import grade_class
    grade_class()                                      # LocalCluster sized to the machine
    grade_class(scheduler="tcp://10.0.0.5:8786")       # an existing cluster
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_utils.instructor import prestart
from course_utils.instructor.autograde import (
    COURSE_ROOT,
    GRADING_DIR,
    GRADING_THREADS_ENV,
    RELEASE_CHECK_DIR,
    SANDBOX_KERNEL,
    GradingError,
    _nbgrader,
    _register_students,
    _sync_gradebook,
    assignment_ids,
    cell_output_text,
    grading_kernel,
    load_course_config,
    solution_submission,
)

__all__ = [
    "CANARY_STUDENT",
    "CourseBundle",
    "GradebookWriter",
    "GradedSubmission",
    "Job",
    "ParallelReport",
    "grade_class",
    "grade_submission",
    "make_bundle",
    "open_client",
    "put_bundles",
]

#: Student id the canary (the instructor's solution) is graded under, in scratch courses only.
CANARY_STUDENT = "zz-canary-solution"
REPORTS_DIR = f"{GRADING_DIR}/reports"


# --- what travels to a worker, and back --------------------------------------------------


@dataclass(frozen=True)
class CourseBundle:
    """What a worker needs to build a scratch course for one assignment.

    Attributes:
        assignment: the assignment id.
        config_text: the course's ``nbgrader_config.py``.
        files: relative path -> bytes: ``solutions/<a>/...`` and ``assignments/<a>/...``.
        gradebook: an sqlite gradebook that knows the assignment (no students).
        max_score: the assignment's points.
    """

    assignment: str
    config_text: str
    files: Mapping[str, bytes]
    gradebook: bytes
    max_score: float


@dataclass(frozen=True)
class Job:
    """One submission to grade: who, which files, and how.

    Attributes:
        assignment, student: ids.
        files: path relative to ``submitted/<student>/<assignment>/`` -> bytes.
        kernel: the kernel nbgrader runs the notebook in.
        timeout: per-cell timeout overriding the configured one (None: configured).
        feedback: also generate the HTML feedback.
        verify: the integrity re-run mode (``all``, ``flagged``, ``none``).
        scratch_root: where the scratch course goes (None: the system's temp folder).
        prestart: take the grading kernel a previous task on this worker started ahead, and
            start the next one while this submission is re-checked (see ``prestart``).
    """

    assignment: str
    student: str
    files: Mapping[str, bytes]
    kernel: str
    timeout: int | None = None
    feedback: bool = True
    verify: str = "all"
    scratch_root: str | None = None
    prestart: bool = True


@dataclass
class GradedSubmission:
    """Everything a task found, as plain data (the writer turns it into gradebook rows and files).

    Attributes:
        assignment, student: ids.
        graded: nbgrader produced an autograded notebook (False: it could not
            process the submission at all; the cells then score 0).
        score, max_score: total points (manual cells not yet graded count 0).
        timestamp: the submission's timestamp (ISO format) or None.
        notebooks: notebook name -> {"grades": {cell: {auto_score, manual_score,
            extra_credit, needs_manual_grade}}, "comments": {cell: auto_comment},
            "late_submission_penalty": float | None}.
        autograded, feedback: relative path -> bytes of nbgrader's output folders.
        flags: integrity review reasons (empty: nothing found).
        problems: what the instructor should look at (timeouts, dead kernels...).
        cell_outputs: grade_id -> text the graded cell printed or raised.
        worker: which worker graded it (host, pid).
        seconds: wall time of the task; phases: seconds per phase.
        log: nbgrader's log of the autograde step (for problems.csv and the canary).
    """

    assignment: str
    student: str
    graded: bool
    score: float
    max_score: float
    timestamp: str | None
    notebooks: dict[str, dict[str, Any]]
    autograded: dict[str, bytes] = field(default_factory=dict)
    feedback: dict[str, bytes] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cell_outputs: dict[str, str] = field(default_factory=dict)
    worker: str = ""
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    log: str = ""

    def cell_scores(self) -> dict[str, float]:
        """grade_id -> points earned (auto score, or manual score when set)."""
        out: dict[str, float] = {}
        for nb in self.notebooks.values():
            for name, g in nb["grades"].items():
                score = g["manual_score"] if g["manual_score"] is not None else g["auto_score"]
                out[name] = float(score or 0.0) + float(g["extra_credit"] or 0.0)
        return out


def _read_tree(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder`` (links are not followed), by relative path."""
    out: dict[str, bytes] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[path.relative_to(folder).as_posix()] = path.read_bytes()
    return out


def _write_tree(folder: Path, files: Mapping[str, bytes]) -> None:
    for rel, data in files.items():
        target = (folder / rel).resolve()
        if folder.resolve() not in target.parents:
            raise GradingError(f"refusing to write {rel!r} outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def make_bundle(course_dir: Path | str, assignment: str, *, scratch: Path | None = None) -> CourseBundle:
    """Collect what a worker needs for ``assignment`` and record it in a fresh gradebook.

    Runs ``nbgrader generate_assignment`` once in a temporary course (not in
    ``course_dir``: its gradebook is left alone).
    """
    course_dir = Path(course_dir)
    files: dict[str, bytes] = {}
    for folder in ("solutions", "assignments"):
        for rel, data in _read_tree(course_dir / folder / assignment).items():
            if ".ipynb_checkpoints" not in rel and "__pycache__" not in rel:
                files[f"{folder}/{assignment}/{rel}"] = data
    if not any(k.startswith("solutions/") for k in files):
        raise GradingError(f"no solutions/{assignment}/ in {course_dir}")
    config_text = (course_dir / "nbgrader_config.py").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="bundle-", dir=scratch) as tmp:
        root = Path(tmp)
        (root / "nbgrader_config.py").write_text(config_text, encoding="utf-8")
        _write_tree(root, files)
        (root / GRADING_DIR).mkdir()
        db = root / GRADING_DIR / "gradebook.db"
        _nbgrader(root, "generate_assignment", assignment, "--force",
                  f"--CourseDirectory.release_directory={RELEASE_CHECK_DIR}",
                  f"--CourseDirectory.db_url=sqlite:///{db}")
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{db}") as gb:
            max_score = float(gb.find_assignment(assignment).max_score)
        gradebook = db.read_bytes()
    return CourseBundle(assignment, config_text, files, gradebook, max_score)


# --- the task ----------------------------------------------------------------------------


def _bundle_task(bundle: CourseBundle) -> CourseBundle:
    """The recipe of a bundle on the cluster: it is its own result."""
    return bundle


def put_bundles(client: Any, bundles: Mapping[str, CourseBundle], token: str) -> dict[str, Any]:
    """Put each assignment's bundle on the cluster as a task that returns it; one future per assignment.

    A task, not scattered data: the scheduler keeps its recipe, so a bundle whose last
    copy died with a killed worker is made again where the next task needs it. Scattered
    data has no recipe, and the scheduler's memory manager soon keeps one replica of it
    (even of a broadcast), so killing that one worker would cancel every task still
    waiting for the bundle.
    """
    return {a: client.submit(_bundle_task, b, key=f"bundle-{a}-{token}", pure=False) for a, b in bundles.items()}


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return f"{get_worker().address} (pid {os.getpid()})"
    except (ImportError, ValueError):
        return f"{socket.gethostname()} (pid {os.getpid()})"


def _scratch_config(root: Path, job: Job) -> Any:
    """The course configuration, pointed at the scratch course and its own sqlite gradebook."""
    cfg = load_course_config(root)["c"]
    cfg.CourseDirectory.root = str(root)
    cfg.CourseDirectory.db_url = f"sqlite:///{root / GRADING_DIR / 'gradebook.db'}"
    cfg.Execute.kernel_name = job.kernel
    # the sandbox check is the client's (grading_kernel); the review runs once, in grade_submission
    cfg.RequireSandbox.allow_unsandboxed = job.kernel != SANDBOX_KERNEL
    cfg.IntegrityReview.enabled = False
    if job.timeout is not None:
        cfg.GradingExecute.timeout_override = int(job.timeout)
    cfg.GradingExecute.prestarted = _warm_next(job)
    return cfg


def _gradebook_rows(db_url: str, assignment: str, student: str) -> tuple[str | None, dict[str, dict[str, Any]]]:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None, {}
        notebooks: dict[str, dict[str, Any]] = {}
        for snb in sub.notebooks:
            notebooks[snb.name] = {
                "grades": {g.name: {"auto_score": g.auto_score, "manual_score": g.manual_score,
                                    "extra_credit": g.extra_credit,
                                    "needs_manual_grade": bool(g.needs_manual_grade),
                                    "max_score": float(g.max_score or 0.0)} for g in snb.grades},
                "comments": {c.name: c.auto_comment for c in snb.comments},
                "late_submission_penalty": snb.late_submission_penalty,
            }
        return (sub.timestamp.isoformat() if sub.timestamp else None), notebooks


def _problems_from_outputs(nb: Mapping) -> tuple[list[str], dict[str, str]]:
    problems, outputs = [], {}
    for cell in nb.get("cells", []):
        text = cell_output_text(cell)
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid:
            outputs[gid] = text
        if "KernelDied" in text or "the kernel process exited" in text or "DeadKernelError" in text:
            problems.append("the kernel died while running the notebook; later cells were not run")
        if "CellTimeoutError" in text:
            problems.append(f"{gid or 'a cell'} ran past the time limit")
    return problems, outputs


_TEMPLATES_CACHED = False


def _cache_compiled_templates() -> None:
    """Keep nbconvert's compiled Jinja templates in memory for the life of this worker process.

    nbgrader builds a new HTML exporter for every feedback, and each one compiles the same
    nine templates again (about a second per submission). Jinja's own bytecode cache skips
    that; it checks every template's source, so an edited template is compiled again.
    """
    global _TEMPLATES_CACHED
    if _TEMPLATES_CACHED:
        return
    import jinja2
    from nbconvert.exporters.templateexporter import TemplateExporter

    class MemoryBytecodeCache(jinja2.BytecodeCache):
        def __init__(self) -> None:
            self.store: dict[str, bytes] = {}

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            if bucket.key in self.store:
                bucket.bytecode_from_string(self.store[bucket.key])

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            self.store[bucket.key] = bucket.bytecode_to_string()

    cache = MemoryBytecodeCache()
    create = TemplateExporter._create_environment

    def create_with_cache(self: TemplateExporter) -> jinja2.Environment:
        environment = create(self)
        environment.bytecode_cache = cache
        return environment

    TemplateExporter._create_environment = create_with_cache
    _TEMPLATES_CACHED = True


# what nbgrader's autograde adds to the environment of the kernels it starts (a kernel started ahead gets it too)
_AUTOGRADE_ENV = {"NBGRADER_EXECUTION": "autograde"}


def _warm_next(job: Job) -> bool:
    """Whether this task takes, and starts, a grading kernel started ahead: sandboxed runs only.

    The sandbox gives a kernel only the folder's files that are not notebooks, which a kernel
    started ahead can be compared on; an unsandboxed kernel also sees the notebook it runs.
    """
    return job.prestart and job.kernel == SANDBOX_KERNEL


def _warm_modules(solutions: list[Mapping], whole_notebook: bool) -> tuple[str, ...]:
    """The modules a kernel started ahead loads for these instructor notebooks (see ``recheck.warm_modules``)."""
    from course_utils.instructor.integrity import recheck

    modules: dict[str, None] = {}
    for nb in solutions:
        with contextlib.suppress(ValueError, RecursionError):
            modules.update(dict.fromkeys(recheck.warm_modules(nb, whole_notebook=whole_notebook)))
    return tuple(modules)


def _instructor_files(bundle: CourseBundle, assignment: str) -> dict[str, bytes]:
    """The released files besides notebooks that the sandbox copies into a kernel's folder (top level only)."""
    prefix = f"assignments/{assignment}/"
    return {rel[len(prefix):]: data for rel, data in bundle.files.items()
            if rel.startswith(prefix) and "/" not in rel[len(prefix):]
            and not rel.endswith(".ipynb") and not rel[len(prefix):].startswith(".")}


def grade_submission(bundle: CourseBundle, job: Job) -> GradedSubmission:
    """Grade one submission in a scratch course of its own; return the results as data.

    This is the Dask task. It has no effect outside its scratch folder (removed
    at the end), so running it twice (a worker died) is harmless. nbgrader runs
    in this process; the submission runs in ``job.kernel`` (the sandbox).
    """
    import nbformat
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from course_utils.instructor import integrity

    start = time.perf_counter()
    phases: dict[str, float] = {}
    for key, value in GRADING_THREADS_ENV.items():  # the kernels inherit it, as in the serial engine
        os.environ.setdefault(key, value)
    if job.scratch_root:
        Path(job.scratch_root).mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"grade-{job.assignment}-{job.student}-", dir=job.scratch_root))
    try:
        (root / "nbgrader_config.py").write_text(bundle.config_text, encoding="utf-8")
        _write_tree(root, bundle.files)
        (root / GRADING_DIR).mkdir(exist_ok=True)
        (root / GRADING_DIR / "gradebook.db").write_bytes(bundle.gradebook)
        submitted = root / GRADING_DIR / "submitted" / job.student / job.assignment
        submitted.mkdir(parents=True)
        _write_tree(submitted, job.files)
        cfg = _scratch_config(root, job)
        api = NbGraderAPI(CourseDirectory(config=cfg), config=cfg)
        solution = [json.loads(data) for rel, data in bundle.files.items()
                    if rel.startswith(f"solutions/{job.assignment}/") and rel.endswith(".ipynb")]
        recheck_modules, grading_modules = _warm_modules(solution, False), _warm_modules(solution, True)
        if _warm_next(job):  # a kernel started ahead for another assignment or kernel would never be taken
            prestart.discard_prestarted("autograde", keep=lambda k: k.matches(
                job.kernel, _AUTOGRADE_ENV, purpose="autograde", modules=grading_modules))
        if job.verify != "none":  # the re-check's kernel starts while nbgrader grades (empty folder, nothing in it)
            prestart.prestart_kernel(job.kernel, modules=recheck_modules, purpose="recheck")
        phases["setup"] = time.perf_counter() - start

        t0 = time.perf_counter()
        outcome = api.autograde(job.assignment, job.student, force=True, create=True)
        phases["autograde"] = time.perf_counter() - t0
        if _warm_next(job) and not prestart.prestarted_for("autograde"):
            # the next submission's kernel starts while this one is re-checked: the worker's next task takes it
            from course_utils.instructor.preprocessors import GradingExecute

            prestart.prestart_kernel(job.kernel, _AUTOGRADE_ENV, modules=grading_modules, purpose="autograde",
                                     files=_instructor_files(bundle, job.assignment),
                                     start_kwargs=GradingExecute(config=cfg).kernel_start_kwargs())
        log = (outcome.get("log") or "") + (outcome.get("error") or "")

        autograded_dir = root / GRADING_DIR / "autograded" / job.student / job.assignment
        names = sorted(Path(k).stem for k in bundle.files
                       if k.startswith(f"assignments/{job.assignment}/") and k.endswith(".ipynb")
                       and k.count("/") == 2)
        graded = bool(names) and all((autograded_dir / f"{n}.ipynb").is_file() for n in names)
        problems: list[str] = []
        outputs: dict[str, str] = {}
        for n in names:
            if f"{n}.ipynb" not in job.files:
                problems.append(f"{n}.ipynb was not submitted")
        if not graded:
            problems.append("nbgrader could not grade the submission (see its log); it scores 0")
        else:
            for n in names:
                found, outs = _problems_from_outputs(nbformat.read(autograded_dir / f"{n}.ipynb", as_version=4))
                problems += found
                outputs.update(outs)

        t0 = time.perf_counter()
        flags: list[str] = []
        if graded:
            # the re-run gets the graded run's per-cell limit: an endless loop costs it twice, not more
            limit = job.timeout or dict(cfg.GradingExecute.get("assignment_timeouts", {})).get(
                job.assignment, cfg.Execute.get("timeout", 120))
            review = integrity.review(root, [job.assignment], kernel_name=job.kernel, verify=job.verify,
                                      timeout=int(limit))
            flags = list(review.get((job.student, job.assignment), []))
        phases["integrity"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        if job.feedback and graded:
            _cache_compiled_templates()
            api.generate_feedback(job.assignment, job.student, force=True)
        phases["feedback"] = time.perf_counter() - t0

        timestamp, notebooks = _gradebook_rows(cfg.CourseDirectory.db_url, job.assignment, job.student)
        result = GradedSubmission(
            assignment=job.assignment, student=job.student, graded=graded, score=0.0,
            max_score=bundle.max_score, timestamp=timestamp, notebooks=notebooks,
            autograded=_read_tree(autograded_dir) if graded else {},
            feedback=_read_tree(root / GRADING_DIR / "feedback" / job.student / job.assignment),
            flags=flags, problems=sorted(set(problems)), cell_outputs=outputs, worker=_worker_name(),
            phases=phases, log=log[-20_000:],
        )
        if not graded:  # nbgrader may have recorded grades of a notebook it never ran: they count 0
            for nb in result.notebooks.values():
                for g in nb["grades"].values():
                    g["auto_score"] = 0.0 if g["auto_score"] is not None else None
        result.score = sum(result.cell_scores().values())
        result.seconds = time.perf_counter() - start
        return result
    finally:
        prestart.discard_prestarted("recheck")  # the one started for the next task stays
        shutil.rmtree(root, ignore_errors=True)


# --- the one writer ------------------------------------------------------------------------


class GradebookWriter:
    """Writes graded submissions into the course's gradebook, one transaction each.

    The only writer of the course's gradebook during a run. Files first
    (``autograded/``, ``feedback/``, ``reports/``, each folder replaced at
    once), then the gradebook rows in a single commit: a submission is in the
    gradebook completely or not at all, and a row means its files are there.

    Args:
        course_dir: the course directory.
        db_url: the gradebook (default: ``CourseDirectory.db_url`` of the course's configuration).
    """

    def __init__(self, course_dir: Path | str, db_url: str | None = None) -> None:
        self.course_dir = Path(course_dir)
        cfg = load_course_config(self.course_dir)["c"]
        self.db_url = db_url or cfg.CourseDirectory.db_url
        self.course_id = cfg.CourseDirectory.course_id if "course_id" in cfg.CourseDirectory else ""

    def graded(self, assignment: str) -> set[str]:
        """Students whose submission of ``assignment`` is in the gradebook."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.db_url) as gb:
            try:
                return {s.student.id for s in gb.assignment_submissions(assignment)}
            except MissingEntry:
                return set()

    def _replace_folder(self, folder: Path, files: Mapping[str, bytes]) -> None:
        tmp = folder.with_name(folder.name + ".writing")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        _write_tree(tmp, files)
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    def write(self, result: GradedSubmission) -> None:
        """Put one graded submission into the course: files, then one gradebook transaction."""
        from nbgrader.api import Comment, Grade, Gradebook, Student, SubmittedAssignment, SubmittedNotebook
        from nbgrader.api import utils as nbutils

        a, s = result.assignment, result.student
        base = self.course_dir / GRADING_DIR
        if result.graded:
            self._replace_folder(base / "autograded" / s / a, result.autograded)
        if result.feedback:
            self._replace_folder(base / "feedback" / s / a, result.feedback)
        report = base / "reports" / a / f"{s}.json"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(_report_dict(result), indent=1) + "\n", encoding="utf-8")

        with Gradebook(self.db_url) as gb:
            db = gb.db
            try:
                assignment = gb.find_assignment(a)
                student = db.query(Student).filter(Student.id == s).one_or_none()
                if student is None:
                    student = Student(id=s)
                    db.add(student)
                old = (db.query(SubmittedAssignment)
                       .filter(SubmittedAssignment.assignment_id == assignment.id,
                               SubmittedAssignment.student_id == s).one_or_none())
                if old is not None:  # --force: the new grading replaces the old one, in this same transaction
                    for snb in old.notebooks:
                        for row in [*snb.grades, *snb.comments]:
                            db.delete(row)
                        db.delete(snb)
                    db.delete(old)
                    db.flush()
                with db.no_autoflush:  # build the whole submission, then one flush and one commit
                    timestamp = nbutils.parse_utc(result.timestamp) if result.timestamp else None
                    sub = SubmittedAssignment(assignment=assignment, student=student, timestamp=timestamp)
                    for notebook in assignment.notebooks:
                        data = result.notebooks.get(notebook.name, {"grades": {}, "comments": {}})
                        snb = SubmittedNotebook(notebook=notebook, assignment=sub, flagged=bool(result.flags),
                                                late_submission_penalty=data.get("late_submission_penalty"))
                        for cell in [*notebook.grade_cells, *notebook.task_cells]:
                            g = data["grades"].get(cell.name, {})
                            Grade(cell_id=cell.id, notebook=snb, auto_score=g.get("auto_score"),
                                  manual_score=g.get("manual_score"), extra_credit=g.get("extra_credit"),
                                  needs_manual_grade=bool(g.get("needs_manual_grade", not result.graded)))
                        for cell in [*notebook.solution_cells, *notebook.task_cells]:
                            Comment(cell_id=cell.id, notebook=snb, auto_comment=data["comments"].get(cell.name))
                    db.add(sub)
                db.commit()
            except BaseException:
                db.rollback()
                raise


def _report_dict(r: GradedSubmission) -> dict[str, Any]:
    return {"assignment": r.assignment, "student": r.student, "graded": r.graded, "score": r.score,
            "max_score": r.max_score, "flags": r.flags, "problems": r.problems, "worker": r.worker,
            "seconds": round(r.seconds, 3), "phases": {k: round(v, 3) for k, v in r.phases.items()}}


# --- the cluster ---------------------------------------------------------------------------


@contextmanager
def open_client(scheduler: str | None = None, n_workers: int | None = None) -> Iterator[Any]:
    """A Dask client: on ``scheduler`` (an address) or on a LocalCluster sized to this machine.

    The local cluster has one single-threaded worker process per core
    (``n_workers`` to change it): a submission's kernel uses one core, and
    nbgrader is not thread-safe, so each worker grades one submission at a time.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler, timeout="60s")
        try:
            yield client
        finally:
            client.close()
        return
    workers = n_workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                               else (os.cpu_count() or 1))
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", memory_limit=0) as cluster, Client(cluster) as client:
        yield client


# --- the run ---------------------------------------------------------------------------------


@dataclass
class ParallelReport:
    """The outcome of :func:`grade_class`."""

    kernel: str
    results: dict[tuple[str, str], GradedSubmission]
    failed: dict[tuple[str, str], str]
    skipped: int
    grades_csv: Path
    stale_releases: list[str]
    seconds: float
    canary: dict[str, GradedSubmission]

    def summary(self) -> str:
        lines = [f"graded {len(self.results)} submission(s) with kernel {self.kernel!r} in {self.seconds:.0f} s"
                 f" ({self.skipped} already graded, skipped)"]
        for (a, s), r in sorted(self.results.items()):
            note = "" if not (r.problems or r.flags) else "   <- " + "; ".join(r.problems + r.flags)
            lines.append(f"  {a} {s:<20} {r.score:g} / {r.max_score:g}{note}")
        for (a, s), why in sorted(self.failed.items()):
            lines.append(f"  {a} {s:<20} NOT GRADED: {why}")
        if self.stale_releases:
            lines.append("WARNING: assignments/ differs from a fresh release for " + ", ".join(self.stale_releases)
                         + ": students may have a different version (run `make release` and commit).")
        lines.append(f"grades exported to {self.grades_csv}")
        return "\n".join(lines)


def _submission_files(folder: Path) -> dict[str, bytes]:
    return {rel: data for rel, data in _read_tree(folder).items() if ".ipynb_checkpoints" not in rel}


def _canary_failure(result: GradedSubmission) -> str | None:
    """Why the canary is not a clean full-marks run, or None."""
    # cells graded by hand (a written answer) have no score yet: the canary is judged on the others
    by_hand = {gid: float(g.get("max_score", 0.0)) for nb in result.notebooks.values()
               for gid, g in nb["grades"].items() if g["needs_manual_grade"] and g["auto_score"] is None
               and g["manual_score"] is None} if result.graded else {}
    lost = {gid: s for gid, s in result.cell_scores().items() if gid not in by_hand}
    auto_max = result.max_score - sum(by_hand.values())
    reasons = []
    if not result.graded:
        reasons.append("nbgrader could not grade the instructor's solution")
    if result.score < auto_max:
        reasons.append(f"the instructor's solution scored {result.score:g} / {auto_max:g} on the cells "
                       f"graded automatically")
    reasons += result.problems
    reasons += [f"flagged: {f}" for f in result.flags]
    if not reasons:
        return None
    text = "\n".join(result.cell_outputs.values()) + "\n" + result.log
    hints = []
    for needle, hint in (
        ("Kernel died before replying", "the kernel died at start"),
        ("DeadKernelError", "the kernel died"),
        ("No such kernel", "the kernel is not installed"),
        ("NoSuchKernel", "the kernel is not installed"),
        ("bwrap", "bubblewrap reported an error"),
        ("No such file or directory", "a file the kernel needs is missing (a moved virtual environment?)"),
        ("MemoryError", "the kernel ran out of memory (sandbox limits too low?)"),
        ("CellTimeoutError", "a cell ran past the time limit (machine too slow or limits too low?)"),
        ("ModuleNotFoundError", "a module is missing in the kernel's environment"),
    ):
        if needle in text and hint not in hints:
            hints.append(hint)
    zero = sorted(gid for gid, s in lost.items() if s <= 0)
    detail = (f"; cells at 0: {', '.join(zero)}" if zero and result.graded else "")
    tail = "\n".join(line for line in result.log.splitlines()[-15:])
    return ("; ".join(reasons) + detail + (f"; likely cause: {', '.join(hints)}" if hints else "")
            + (f"\nlast lines of nbgrader's log:\n{tail}" if tail.strip() else ""))


def _write_outputs(course_dir: Path, writer: GradebookWriter, ids: Iterable[str],
                   failed: Mapping[tuple[str, str], str]) -> Path:
    """grades.csv with the flagged column, integrity.json and problems.csv, from every report on disk."""
    import csv

    from course_utils.instructor import integrity

    base = course_dir / GRADING_DIR
    flags: dict[tuple[str, str], list[str]] = {}
    rows: list[list[Any]] = []
    for a in ids:
        in_gradebook = writer.graded(a)
        for path in sorted((base / "reports" / a).glob("*.json")):
            rep = json.loads(path.read_text(encoding="utf-8"))
            if rep["student"] not in in_gradebook:
                continue  # files of a submission whose transaction never came: not graded
            if rep.get("flags"):
                flags[(rep["student"], a)] = rep["flags"]
            if rep.get("problems"):
                rows.append([a, rep["student"], rep.get("score", ""), rep.get("max_score", ""),
                             " | ".join(rep["problems"])])
    for (a, s), why in sorted(failed.items()):
        rows.append([a, s, "", "", f"not graded: {why}"])
    _register_students(course_dir)
    grades_csv = base / "grades.csv"
    _nbgrader(course_dir, "export", f"--to={grades_csv}")
    integrity.add_flag_column(grades_csv, flags)
    integrity.write_report(base / "integrity.json", flags)
    with open(base / "problems.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["assignment", "student", "score", "max_score", "problems"])
        out.writerows(sorted(rows, key=lambda r: (r[0], r[1])))
    return grades_csv


def _cores_here() -> tuple[str, int]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return socket.gethostname(), cores


def _spare_cores(client: Any) -> bool:
    """Whether every machine of the cluster has more cores than grading worker threads."""
    try:
        found = client.run(_cores_here)
        threads = {addr: int(w.get("nthreads", 1)) for addr, w in client.scheduler_info()["workers"].items()}
    except Exception:  # not known: do not overlap
        return False
    per_host: dict[str, list[int]] = {}
    for addr, (host, cores) in found.items():
        per_host.setdefault(host, [0, cores])[0] += threads.get(addr, 1)
    return bool(per_host) and all(used < cores for used, cores in per_host.values())


def grade_class(
    sandbox: bool = True,
    *,
    course_dir: Path | str = COURSE_ROOT,
    assignments: Iterable[str] | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    client: Any = None,
    timeout: int | None = None,
    force: bool = False,
    feedback: bool = True,
    canary: bool = True,
    verify: str | None = None,
    scratch_root: str | None = None,
    on_result: Callable[[GradedSubmission], None] | None = None,
    prestart_kernels: bool | None = None,
) -> ParallelReport:
    """Grade every submission under ``grading/submitted/`` on Dask, one task each.

    Args:
        sandbox: run the submissions in the sandboxed kernel (default); False
            uses the course kernel, with a warning.
        course_dir: the course directory.
        assignments: only these ids (default: every assignment with submissions).
        scheduler: address of an existing Dask scheduler (``tcp://host:8786``);
            None starts a LocalCluster with one worker per core (``n_workers``).
        client: an existing ``distributed.Client`` (overrides ``scheduler``).
        timeout: per-cell timeout overriding the configured ones.
        force: grade again submissions already in the gradebook (default: skip them,
            so an interrupted run started again goes on with what is left).
        feedback: generate the HTML feedback.
        canary: grade the instructor's solution first and stop unless it gets full marks.
        verify: integrity re-run mode (default ``RNN_INTEGRITY_VERIFY`` or ``all``).
        scratch_root: folder for the tasks' scratch courses (default: the temp folder).
        on_result: called in the client with each result once it is written.
        prestart_kernels: let each worker start its next submission's kernel while it
            re-checks one (``Job.prestart``). None: only when every machine has more cores
            than grading workers, so the overlap runs on an idle core and never slows another
            worker's submission.

    Raises:
        GradingError: the canary failed (nothing written), or the sandbox cannot run.
    """
    start = time.perf_counter()
    course_dir = Path(course_dir)
    kernel = grading_kernel(sandbox)
    verify = (verify or os.environ.get("RNN_INTEGRITY_VERIFY") or "all").lower()
    all_ids = assignment_ids(course_dir)
    ids = list(assignments) if assignments is not None else all_ids
    unknown = sorted(set(ids) - set(all_ids))
    if unknown:
        raise GradingError(f"unknown assignment(s) {unknown}; known: {all_ids}")
    submitted = course_dir / GRADING_DIR / "submitted"
    with_work = [a for a in ids if any(p.is_dir() for p in submitted.glob(f"*/{a}"))]

    if client is None:
        with open_client(scheduler, n_workers) as own:
            return grade_class(sandbox, course_dir=course_dir, assignments=ids, client=own, timeout=timeout,
                               force=force, feedback=feedback, canary=canary, verify=verify,
                               scratch_root=scratch_root, on_result=on_result, prestart_kernels=prestart_kernels)

    from distributed import as_completed

    if prestart_kernels is None:
        prestart_kernels = _spare_cores(client)
    print(f"kernels started ahead: {'on' if prestart_kernels else 'off'}", flush=True)

    def job(a: str, s: str, files: Mapping[str, bytes]) -> Job:
        return Job(a, s, dict(files), kernel, timeout, feedback, verify, scratch_root, prestart_kernels)

    bundles = {a: make_bundle(course_dir, a) for a in with_work}
    token = f"{os.getpid()}-{time.time_ns()}"
    remote = put_bundles(client, bundles, token)

    # 1. the canary: the instructor's solution, the same task, the same cluster, before any write
    canaries: dict[str, GradedSubmission] = {}
    if canary and with_work:
        import nbformat

        futures = [client.submit(grade_submission, remote[a],
                                 job(a, CANARY_STUDENT, {f"{a}.ipynb": nbformat.writes(
                                     solution_submission(a, course_dir=course_dir)).encode()}),
                                 key=f"canary-{a}-{token}", pure=False) for a in with_work]
        for a, fut in zip(with_work, futures):
            try:
                canaries[a] = fut.result()
            except Exception as exc:  # the task itself failed: the cluster cannot grade
                raise GradingError(f"canary for {a}: the grading task failed on the cluster: "
                                   f"{type(exc).__name__}: {exc}. Nothing was graded.") from exc
            why = _canary_failure(canaries[a])
            if why:
                raise GradingError(
                    f"canary for {a} failed with kernel {kernel!r}: {why}\n"
                    "The run stopped before grading anyone; the gradebook was not touched.")
        print(f"canary: the instructor's solution gets full marks on {', '.join(with_work)}", flush=True)

    # 2. what is to grade
    from course_utils.instructor import integrity

    quarantined = integrity.sanitize_submissions(course_dir)
    stale = _sync_gradebook(course_dir, ids) if ids else []
    writer = GradebookWriter(course_dir)
    todo: list[tuple[str, str]] = []
    skipped = 0
    for a in with_work:
        done = set() if force else writer.graded(a)
        for folder in sorted(p for p in submitted.glob(f"*/{a}") if p.is_dir()):
            s = folder.parent.name
            if s in done:
                skipped += 1
            else:
                todo.append((a, s))

    # 3. one task per submission; 4. one writer, here
    results: dict[tuple[str, str], GradedSubmission] = {}
    failed: dict[tuple[str, str], str] = {}
    futures = {}
    for a, s in todo:
        fut = client.submit(grade_submission, remote[a], job(a, s, _submission_files(submitted / s / a)),
                            key=f"grade-{a}-{s}-{token}", pure=False)
        futures[fut] = (a, s)
    print(f"grading {len(todo)} submission(s) on {len(client.scheduler_info().get('workers', {}))} "
          f"worker(s); {skipped} already graded", flush=True)
    try:
        for fut in as_completed(list(futures)):
            key = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # e.g. KilledWorker: it took down several workers
                failed[key] = f"{type(exc).__name__}: {exc}"
                print(f"  {key[0]} {key[1]}: NOT GRADED ({failed[key]})", file=sys.stderr, flush=True)
                continue
            for reason in [*quarantined.get((key[1], key[0]), []), *quarantined.get((key[1], "*"), [])]:
                result.flags.insert(0, reason)
            writer.write(result)
            results[key] = result
            if on_result is not None:
                on_result(result)
            print(f"  {key[0]} {key[1]}: {result.score:g} / {result.max_score:g} "
                  f"({result.seconds:.1f} s on {result.worker})", flush=True)
    except KeyboardInterrupt:
        for fut in futures:
            fut.cancel()
        left = len(todo) - len(results) - len(failed)
        print(f"\ninterrupted: {len(results)} submission(s) written, {left} left; "
              "run `make grade` again to grade the rest.", file=sys.stderr, flush=True)
        raise
    finally:  # the kernels the workers started for a next task that will not come
        with contextlib.suppress(Exception):
            client.run(prestart.discard_prestarted)

    grades_csv = _write_outputs(course_dir, writer, with_work, failed)
    report = ParallelReport(kernel, results, failed, skipped, grades_csv, stale,
                            time.perf_counter() - start, canaries)
    print(report.summary(), flush=True)
    return report
