"""Parallel grading on Dask (course_utils.instructor.parallel).

A toy assignment (tests/attacks/course.py: two answers, 5 points) keeps these
tests small. What they prove:

* the writer puts a submission into the gradebook in one transaction: a write
  that fails half way leaves no row; a second write of the same submission
  replaces the first (one row);
* ``make grade SCHEDULER=tcp://...`` against a scheduler and two workers this
  test starts on 127.0.0.1: a run interrupted with Ctrl-C leaves only complete
  submissions, the next run grades only what is left; a worker killed while it
  grades a submission does not lose it (graded again on the other worker);
  every submission ends up in the gradebook exactly once; a submission that
  kills its kernel or runs past the time limit is listed in problems.csv and
  the others are graded;
* the assignment's bundle survives the death of the one worker that holds its
  last copy (the scheduler makes it again), so killing that worker cancels nothing;
* the canary: with a sandbox whose kernel cannot start, the run stops, names
  the cause, and writes nothing.

No assertion depends on how fast the machine is: the tests wait for events
(a row in the gradebook, a task's scratch folder), with generous time-outs
that only bound a hang.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from attacks.course import TEST_LIMITS, TEST_OVERRIDES, Course, ensure_kernel, make_course, require_sandbox

from course_utils.instructor import parallel, prestart
from course_utils.instructor.autograde import GradingError

pytestmark = pytest.mark.slow

TOY_CONFIG = TEST_OVERRIDES + '\nASSIGNMENTS = {"toy": {"timeout": 30}}\n'
VENV_BIN = Path(sys.executable).parent
HANG_S = 900  # bound on a hang, never a speed requirement
# Per-cell limit of these runs: it ends the endless loop; the toy's honest cells need a few seconds
# (importing torch), so it is far above them even on a loaded machine.
CELL_TIMEOUT_S = 60


def wait_for(predicate, what: str, timeout: float = HANG_S, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up waiting ({timeout:.0f} s) for {what}")


def gradebook_rows(course: Course) -> list[tuple[str, int]]:
    """(student, number of grade rows) for every submission in the gradebook, duplicates kept."""
    if not course.gradebook.exists():
        return []
    with sqlite3.connect(course.gradebook) as db:
        return db.execute(
            "SELECT sa.student_id, COUNT(g.id) FROM submitted_assignment sa "
            "JOIN submitted_notebook sn ON sn.assignment_id = sa.id "
            "LEFT JOIN grade g ON g.notebook_id = sn.id GROUP BY sa.id ORDER BY sa.student_id").fetchall()


def toy_course(tmp_path: Path) -> Course:
    return make_course(tmp_path, toy=True, overrides=TOY_CONFIG)


def with_first_answer(course: Course, prefix: str):
    """The honest notebook with ``prefix`` run before the first answer's code."""
    nb = course.honest_notebook()
    first = course.answer_ids()[0]
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == first:
            cell.source = prefix + "\n" + cell.source
    return nb


# --- the writer: one transaction per submission ---------------------------------------------


def fake_result(course: Course, student: str, score: float) -> parallel.GradedSubmission:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.gradebook}") as gb:
        nb = gb.find_assignment(course.assignment).notebooks[0]
        grades = {c.name: {"auto_score": min(score, c.max_score), "manual_score": None, "extra_credit": None,
                           "needs_manual_grade": False} for c in nb.grade_cells}
        comments = {c.name: None for c in nb.solution_cells}
        name = nb.name
    return parallel.GradedSubmission(course.assignment, student, True, score, 5.0, None,
                                     {name: {"grades": grades, "comments": comments,
                                             "late_submission_penalty": None}},
                                     autograded={f"{name}.ipynb": b"{}"})


def test_writer_is_all_or_nothing_and_replaces(tmp_path, monkeypatch):
    course = toy_course(tmp_path)
    writer = parallel.GradebookWriter(course.root)
    writer.write(fake_result(course, "alice", 2.0))
    assert gradebook_rows(course) == [("alice", 2)]

    import nbgrader.api

    made = []

    class Failing(nbgrader.api.Grade):  # the second grade row of bob's submission fails
        def __init__(self, **kw):
            made.append(kw)
            if len(made) == 2:
                raise RuntimeError("disk full")
            super().__init__(**kw)

    monkeypatch.setattr(nbgrader.api, "Grade", Failing)
    with pytest.raises(RuntimeError, match="disk full"):
        writer.write(fake_result(course, "bob", 5.0))
    monkeypatch.undo()
    assert gradebook_rows(course) == [("alice", 2)]  # no partial bob
    assert writer.graded(course.assignment) == {"alice"}

    writer.write(fake_result(course, "alice", 5.0))  # graded again (force): replaced, not added
    assert gradebook_rows(course) == [("alice", 2)]
    assert course.scores() == {"alice": 5.0}


# --- a cluster started by the test on 127.0.0.1 ---------------------------------------------


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes (no nanny: a killed worker stays dead)."""

    def __init__(self, base: Path, n_workers: int, env: dict[str, str]) -> None:
        self.base, self.env = base, env
        base.mkdir(parents=True, exist_ok=True)
        scheduler_file = base / "scheduler.json"
        self.procs: list[subprocess.Popen] = []
        self.scheduler = self._start([str(VENV_BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--no-dashboard", "--scheduler-file", str(scheduler_file)], "scheduler")
        wait_for(scheduler_file.exists, "the scheduler file", 120)
        self.address = wait_for(lambda: json.loads(scheduler_file.read_text() or "{}").get("address"),
                                "the scheduler address", 120)
        self.workers: dict[str, subprocess.Popen] = {}
        for i in range(n_workers):
            self.add_worker(f"w{i}")

    def _start(self, argv: list[str], name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.base / f"{name}.log", "w")
        proc = subprocess.Popen(argv, env={**os.environ, **self.env, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def scratch(self, name: str) -> Path:
        return self.base / f"scratch-{name}"

    def add_worker(self, name: str) -> None:
        self.scratch(name).mkdir(exist_ok=True)
        self.workers[name] = self._start(
            [str(VENV_BIN / "dask"), "worker", self.address, "--nthreads", "1", "--no-nanny", "--name", name,
             "--no-dashboard", "--host", "127.0.0.1", "--local-directory", str(self.base / f"dask-{name}")],
            name, env={"TMPDIR": str(self.scratch(name))})

    def kill(self, name: str) -> None:
        """SIGKILL the worker and everything it started (its nbgrader kernels)."""
        os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait()

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture
def cluster(tmp_path):
    require_sandbox()
    ensure_kernel()
    c = Cluster(tmp_path / "cluster", 2, {**TEST_LIMITS, "OMP_NUM_THREADS": "1", "COURSE_THREADS": "1"})
    from distributed import Client

    with Client(c.address, timeout="120s") as client:
        client.wait_for_workers(2, timeout=HANG_S)
    yield c
    c.close()


def grade_cli(course: Course, address: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, **TEST_LIMITS}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.Popen([sys.executable, "-m", "course_utils.instructor", "--course-dir", str(course.root),
                             "grade", "--scheduler", address, "--timeout", str(CELL_TIMEOUT_S), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_scheduler_address_interrupt_resume_and_killed_worker(tmp_path, cluster):
    course = toy_course(tmp_path)
    course.submit("a_honest", course.honest_notebook())
    course.submit("b_blank", course.release())
    course.submit("c_crash", with_first_answer(course, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    course.submit("d_loop", with_first_answer(course, "while True:\n    pass"))

    # run 1, interrupted (Ctrl-C) as soon as one submission is in the gradebook
    run = grade_cli(course, cluster.address)
    wait_for(lambda: gradebook_rows(course) or run.poll() is not None, "a first graded submission")
    run.send_signal(signal.SIGINT)
    out1, _ = run.communicate(timeout=HANG_S)
    rows1 = gradebook_rows(course)
    assert run.returncode == 130, out1
    assert "interrupted" in out1 and "run `make grade` again" in out1
    assert 1 <= len(rows1) < 4, (rows1, out1)
    assert all(n == 2 for _, n in rows1), rows1  # every row complete: both test cells
    reports = course.root / "grading" / "reports" / course.assignment
    first = {s: (reports / f"{s}.json").stat().st_mtime_ns for s, _ in rows1}

    # a late submission, slow enough to be caught in the middle; run 2 kills the worker grading it
    course.submit("z_slow", with_first_answer(course, "import time\ntime.sleep(8)"))
    run = grade_cli(course, cluster.address)

    def slow_worker() -> str | None:
        for name in cluster.workers:
            if any(cluster.scratch(name).glob("grade-toy-z_slow-*")):
                return name
        return None

    victim = wait_for(lambda: slow_worker() or run.poll() is not None, "a worker grading z_slow")
    assert isinstance(victim, str), run.communicate()[0]
    cluster.kill(victim)
    out2, _ = run.communicate(timeout=HANG_S)
    assert run.returncode == 0, out2
    assert f"{len(rows1)} already graded" in out2

    rows = gradebook_rows(course)
    assert rows == [(s, 2) for s in ("a_honest", "b_blank", "c_crash", "d_loop", "z_slow")], rows  # exactly once
    assert {s: (reports / f"{s}.json").stat().st_mtime_ns for s in first} == first  # not graded again
    slow = json.loads((reports / "z_slow.json").read_text())
    assert slow["score"] == 5.0
    survivor = next(n for n in cluster.workers if n != victim)
    # graded again, to the end, by the other worker (no nanny: a worker's pid is its dask worker process)
    assert f"(pid {cluster.workers[survivor].pid})" in slow["worker"], (slow["worker"], victim)
    assert not any(cluster.scratch(survivor).glob("grade-*"))  # its scratch courses are cleaned up
    # the loop is in the first answer only: the second answer (3 points) is graded after the timeout
    assert course.scores() == {"a_honest": 5.0, "b_blank": 0.0, "c_crash": 0.0, "d_loop": 3.0, "z_slow": 5.0}

    # each worker started its next submission's kernel ahead; the run stopped those at its end
    from distributed import Client

    with Client(cluster.address, timeout="60s") as client:
        assert set(client.run(lambda: len(prestart.prestarted())).values()) == {0}

    problems = {r["student"]: r["problems"] for r in csv.DictReader(open(course.root / "grading" / "problems.csv"))}
    assert "kernel died" in problems["c_crash"]
    assert "sigmoid ran past the time limit" in problems["d_loop"], problems
    grades = {r["student_id"]: r for r in csv.DictReader(open(course.root / "grading" / "grades.csv"))}
    assert set(grades) == {"a_honest", "b_blank", "c_crash", "d_loop", "z_slow"}


# --- the canary ---------------------------------------------------------------------------------


def test_a_bundle_whose_last_copy_dies_with_its_worker_is_made_again(tmp_path, cluster):
    """The scheduler's memory manager keeps one copy of a bundle; killing that worker must not cancel the run."""
    from distributed import Client

    course = toy_course(tmp_path)
    bundle = parallel.make_bundle(course.root, course.assignment)
    with Client(cluster.address, timeout="120s") as client:
        remote = parallel.put_bundles(client, {course.assignment: bundle}, "t")[course.assignment]
        remote.result(timeout=HANG_S)
        client.replicate([remote])  # a copy on each worker, as two workers grading leave it

        def one_holder() -> str | None:
            holders = client.who_has([remote])[remote.key]
            return holders[0] if len(holders) == 1 else None

        holder = wait_for(one_holder, "the memory manager to drop a copy")
        name = client.scheduler_info()["workers"][holder]["name"]
        cluster.kill(name)
        wait_for(lambda: holder not in client.scheduler_info()["workers"], "the scheduler to see the worker gone")
        survivor = client.submit(lambda b: b.assignment, remote, pure=False)
        assert survivor.result(timeout=HANG_S) == course.assignment
        assert list(client.who_has([remote])[remote.key]) == list(client.scheduler_info()["workers"])  # made again


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_canary_stops_a_run_whose_sandbox_kernel_cannot_start(tmp_path, monkeypatch):
    require_sandbox()
    ensure_kernel()
    course = toy_course(tmp_path)
    course.submit("a_honest", course.honest_notebook())
    before = digest(course.gradebook)
    # a sandbox in which Python cannot even start: the kernel dies at once
    monkeypatch.setenv("RNN_SANDBOX_MEMORY_MIB", "8")
    with pytest.raises(GradingError) as err:
        parallel.grade_class(course_dir=course.root, n_workers=1, timeout=CELL_TIMEOUT_S)
    message = str(err.value)
    assert "canary for toy failed" in message and "scored 0 / 5" in message
    assert "likely cause" in message and "kernel died" in message, message
    assert "gradebook was not touched" in message
    assert digest(course.gradebook) == before
    assert not (course.root / "grading" / "autograded").exists()
    assert not (course.root / "grading" / "grades.csv").exists()



def _graded(grades: dict[str, dict]) -> parallel.GradedSubmission:
    result = parallel.GradedSubmission(assignment="04", student=parallel.CANARY_STUDENT, graded=True, score=0.0,
                                       max_score=sum(g["max_score"] for g in grades.values()), timestamp=None,
                                       notebooks={"04": {"grades": grades, "comments": {},
                                                         "late_submission_penalty": None}})
    result.score = sum(result.cell_scores().values())
    return result


def _grade(auto: float | None, points: float, manual: bool = False) -> dict:
    return {"auto_score": auto, "manual_score": None, "extra_credit": None, "needs_manual_grade": manual,
            "max_score": points}


def test_canary_leaves_cells_graded_by_hand_out():
    """Assignment 04's written answer (2 points, graded by hand) has no score yet: the canary used to stop every run."""
    clean = _graded({"q1_test": _grade(3.0, 3.0), "q6_written": _grade(None, 2.0, manual=True)})
    assert parallel._canary_failure(clean) is None
    lost = _graded({"q1_test": _grade(0.0, 3.0), "q6_written": _grade(None, 2.0, manual=True)})
    message = parallel._canary_failure(lost)
    assert message is not None and "scored 0 / 3 on the cells graded automatically" in message
    assert "q1_test" in message and "q6_written" not in message


def test_make_grade_passes_the_canary_of_every_real_assignment(tmp_path):
    """The course's own four assignments through make grade's path, re-check included.

    Each canary (the instructor's solution) must come out with full marks on the automatic cells and
    no flag, or the run stops; a blank release scores 0 unflagged. Two canaries used to stop every
    run: assignment 03's, flagged for a check its solution never reaches, and 04's, whose written
    answer (graded by hand) counted as lost points.
    """
    require_sandbox()
    from course_utils.instructor.autograde import (
        _write_submission,
        assignment_ids,
        make_course_copy,
    )

    course = make_course_copy(tmp_path / "course")
    ids = assignment_ids(course)
    assert len(ids) == 4
    for a in ids:
        _write_submission(course / "grading" / "submitted" / "blank" / a, a, course / "assignments" / a / f"{a}.ipynb")
    report = parallel.grade_class(True, course_dir=course, assignments=ids, n_workers=2, feedback=False)
    assert sorted(report.canary) == sorted(ids)
    for a in ids:
        canary = report.canary[a]
        assert not canary.flags and not canary.problems, (a, canary.flags, canary.problems)
        assert parallel._canary_failure(canary) is None
        blank = report.results[(a, "blank")]
        assert blank.graded and blank.score == 0 and not blank.flags, (a, blank.score, blank.flags)
    print({a: round(report.canary[a].seconds, 1) for a in ids})


def test_prestarted_recheck_kernel_is_interrupted_on_timeout_and_holds_nothing():
    """The re-check kernel started while nbgrader grades behaves as one the re-check starts itself.

    A first version drove it through a synchronous kernel manager, whose interrupt never reached an
    endless loop: the re-check of an infinite-loop submission hung the Dask worker. The kernel has the
    notebook's modules loaded, but no name bound and nothing in its input history.
    """
    import nbformat

    from course_utils.instructor.integrity import recheck

    ensure_kernel()
    cells = [nbformat.v4.new_code_cell(src) for src in (
        "print(sorted(n for n in dir() if not n.startswith('_') and n not in ('In', 'Out', 'exit', 'quit',"
        " 'get_ipython', 'open')), len(In), 'json' in __import__('sys').modules)",
        "while True:\n    pass",
        "print('after')")]
    prestart.prestart_kernel("rnn-course", modules=("json",))
    start = time.monotonic()
    out, stopped = recheck._execute(nbformat.v4.new_notebook(cells=cells), kernel_name="rnn-course", timeout=5,
                                    budget_s=HANG_S, env=None, prestarted=True)
    texts = [o.get("text") or o.get("ename") for c in out.cells for o in c.get("outputs", [])]
    assert stopped is None and texts == ["[] 2 True\n", "KeyboardInterrupt", "after\n"], (stopped, texts)
    assert time.monotonic() - start < HANG_S
    assert not prestart.prestarted()  # taken, used once, shut down


def test_a_worker_grades_its_next_submission_in_the_kernel_it_started_ahead(tmp_path, monkeypatch):
    """Each task starts the next one's sandboxed kernel while it re-checks; the next task grades in it.

    Scores are the same as in a kernel started for the submission, a submission that kills that
    kernel included, and nothing stays running once the worker discards what it started.
    """
    require_sandbox()
    ensure_kernel()
    from course_utils.instructor.autograde import SANDBOX_KERNEL

    for key, value in TEST_LIMITS.items():
        monkeypatch.setenv(key, value)
    course = toy_course(tmp_path)
    bundle = parallel.make_bundle(course.root, course.assignment)
    name = f"{course.assignment}.ipynb"
    honest = {name: nbformat.writes(course.honest_notebook()).encode()}
    crash = {name: nbformat.writes(with_first_answer(course, "import os, signal\nos.kill(os.getpid(), 9)")).encode()}

    def grade(student: str, files: dict, **kw) -> parallel.GradedSubmission:
        return parallel.grade_submission(bundle, parallel.Job(course.assignment, student, files, SANDBOX_KERNEL, **kw))

    took = "grading in a kernel started"
    try:
        cold = grade("cold", honest, prestart=False)
        assert took not in cold.log and prestart.prestarted() == []  # off: none taken, none started
        first = grade("a", honest)
        assert [k.purpose for k in prestart.prestarted()] == ["autograde"]
        crashed = grade("b", crash)
        again = grade("c", honest)
        cold_crash = grade("cold_crash", crash, prestart=False)
    finally:
        left = prestart.discard_prestarted()
    assert left == 1  # the one started for a next task that did not come
    assert took in crashed.log and took in again.log, (crashed.log[-2000:], again.log[-2000:])
    assert cold.score == first.score == again.score == cold.max_score
    assert not (cold.flags or first.flags or again.flags)
    assert crashed.score == cold_crash.score and crashed.cell_scores() == cold_crash.cell_scores()
    assert any("kernel died" in p for p in crashed.problems), crashed.problems


def test_kernels_are_started_ahead_only_where_every_machine_has_an_idle_core():
    """The overlap must never slow another worker down: off as soon as one machine has a worker per core."""

    class FakeClient:
        def __init__(self, workers: dict[str, tuple[str, int, int]]) -> None:
            self.workers = workers  # address -> (host, cores, threads)

        def run(self, fn):
            return {addr: (host, cores) for addr, (host, cores, _) in self.workers.items()}

        def scheduler_info(self):
            return {"workers": {addr: {"nthreads": n} for addr, (_, _, n) in self.workers.items()}}

    assert parallel._spare_cores(FakeClient({"w1": ("a", 2, 1)}))  # make bench's one worker on 2 cores
    assert not parallel._spare_cores(FakeClient({"w1": ("a", 2, 1), "w2": ("a", 2, 1)}))  # make grade's default
    assert not parallel._spare_cores(FakeClient({"w1": ("a", 16, 8), "w2": ("a", 16, 8)}))
    assert not parallel._spare_cores(FakeClient({"w1": ("a", 4, 1), "w2": ("b", 1, 1)}))  # one full machine
    assert parallel._spare_cores(FakeClient({"w1": ("a", 4, 3), "w2": ("b", 2, 1)}))
    assert not parallel._spare_cores(FakeClient({}))
    host, cores = parallel._cores_here()
    assert host and cores >= 1
