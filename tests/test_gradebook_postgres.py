"""The PostgreSQL gradebook: a real server (Debian's ``postgresql``), two graders writing at once.

One server for the module, started by :func:`course_utils.instructor.postgres.start`
on a free port under a temporary folder and always stopped by the fixture's
finalizer (checked: no server process of that folder survives).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from course_utils.instructor import postgres
from tests.labserver import free_port

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_forward_and_loss"
NOTEBOOK = ASSIGNMENT
CELLS = {f"q{i}": float(i + 1) for i in range(5)}  # grade cell -> max points
N_PER_GRADER = 20

# One grader: says it is connected, waits for the start signal, then for each of its students
# adds the submission and sets every grade through nbgrader's Gradebook API, one commit per student.
# Half-way it waits until the other grader is half-way too, so that the two write at the same
# time however the machine schedules them (no sleep decides it).
GRADER = textwrap.dedent(
    """
    import json, os, sys, time
    from nbgrader.api import Gradebook
    db_url, sync, me, other = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    students, cells, out = json.loads(sys.argv[5]), json.loads(sys.argv[6]), sys.argv[7]

    def wait_for(name):
        deadline = time.monotonic() + 120
        while not os.path.exists(os.path.join(sync, name)):
            if time.monotonic() > deadline:
                sys.exit("waited 120 s for " + name)
            time.sleep(0.01)

    commits = []
    with Gradebook(db_url) as gb:
        gb.find_assignment("%(assignment)s")  # a real round trip: the connection is open
        open(os.path.join(sync, "ready-" + me), "w").close()
        wait_for("go")
        for k, student in enumerate(students):
            if k == len(students) // 2:
                open(os.path.join(sync, "half-" + me), "w").close()
                wait_for("half-" + other)
            gb.update_or_create_student(student, first_name=student.upper(), last_name="Test")
            gb.add_submission("%(assignment)s", student)
            for j, (cell, max_score) in enumerate(cells.items()):
                grade = gb.find_grade(cell, "%(notebook)s", "%(assignment)s", student)
                grade.manual_score = (k + j) %% (int(max_score) + 1)
            gb.db.commit()
            commits.append(time.time())
    with open(out, "w") as fh:
        json.dump(commits, fh)
    """
) % {"assignment": ASSIGNMENT, "notebook": NOTEBOOK}


def _missing(module: str, hint: str) -> None:
    message = f"{module} is not available; {hint}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def server():
    try:
        import psycopg  # noqa: F401 (imported only to see that it is installed)
    except ImportError:
        _missing("psycopg", f"install it with: {postgres.PSYCOPG_HINT}")
    try:
        postgres.find_bindir()
    except postgres.PostgresUnavailable as err:
        _missing("the PostgreSQL server", str(err))
    # Not under pytest's own temporary folder (mode 0700): as root the server runs as 'postgres'.
    base = Path(tempfile.mkdtemp(prefix="rnn-pg-"))
    os.chmod(base, 0o755)
    # nbgrader starts `alembic` by name to create a gradebook (make puts .venv/bin on PATH too).
    old_path = os.environ["PATH"]
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{old_path}"
    try:
        yield postgres.start(base, free_port())
    finally:
        os.environ["PATH"] = old_path
        postgres.stop(base)
        shutil.rmtree(base, ignore_errors=True)
        assert not postgres.status(base), "the PostgreSQL server survived its fixture"
        assert not _server_pids(base), f"processes of the cluster in {base} are left: {_server_pids(base)}"


def _server_pids(base: Path) -> list[int]:
    """PIDs of processes whose command line names this cluster's data folder."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(base / "data") in cmd:
                pids.append(int(proc.name))
    return pids


def test_start_is_idempotent_and_url_works(server: postgres.PostgresServer) -> None:
    import sqlalchemy as sa

    again = postgres.start(server.base, server.port)
    assert again.db_url == server.db_url
    assert server.db_url.startswith("postgresql+psycopg://course:") and f"@127.0.0.1:{server.port}/" in server.db_url
    with sa.create_engine(server.db_url).connect() as conn:
        assert conn.execute(sa.text("SELECT current_database()")).scalar() == postgres.DATABASE
        # only loopback: the server was told to listen on 127.0.0.1 alone
        assert conn.execute(sa.text("SHOW listen_addresses")).scalar() == "127.0.0.1"


def test_two_graders_at_once_lose_nothing(server: postgres.PostgresServer, tmp_path: Path) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(server.db_url) as gb:
        gb.update_or_create_assignment(ASSIGNMENT)
        gb.update_or_create_notebook(NOTEBOOK, ASSIGNMENT)
        for cell, max_score in CELLS.items():
            gb.update_or_create_grade_cell(cell, NOTEBOOK, ASSIGNMENT, max_score=max_score, cell_type="code")

    groups = [[f"a{i:02d}" for i in range(N_PER_GRADER)], [f"b{i:02d}" for i in range(N_PER_GRADER)]]
    sync = tmp_path / "sync"
    sync.mkdir()
    procs, outs = [], []
    for k, students in enumerate(groups):
        out = tmp_path / f"grader{k}.json"
        outs.append(out)
        procs.append(subprocess.Popen([sys.executable, "-c", GRADER, server.db_url, str(sync), str(k), str(1 - k),
                                       json.dumps(students), json.dumps(CELLS), str(out)],
                                      stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 120
    while not all((sync / f"ready-{k}").exists() for k in range(2)):
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    (sync / "go").touch()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"a grader failed:\n{err[-3000:]}"

    commits = [json.loads(o.read_text()) for o in outs]
    assert [len(c) for c in commits] == [N_PER_GRADER, N_PER_GRADER], commits
    # They really wrote at the same time: each one committed both before and after the other's first commit.
    for mine, theirs in (commits, commits[::-1]):
        assert mine[0] < theirs[-1] and theirs[0] < mine[-1], commits

    with Gradebook(server.db_url) as gb:
        assert len(gb.students) == 2 * N_PER_GRADER
        for students in groups:
            for k, student in enumerate(students):
                for j, (cell, max_score) in enumerate(CELLS.items()):
                    grade = gb.find_grade(cell, NOTEBOOK, ASSIGNMENT, student)
                    assert grade.manual_score == (k + j) % (int(max_score) + 1), (student, cell)
                expected = sum((k + j) % (int(m) + 1) for j, m in enumerate(CELLS.values()))
                assert gb.find_submission(ASSIGNMENT, student).score == pytest.approx(expected)


def test_db_url_comes_from_the_environment(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """nbgrader_config.py takes the gradebook from COURSE_DB_URL, sqlite otherwise."""
    from traitlets.config.loader import PyFileConfigLoader

    def db_url() -> str:
        return PyFileConfigLoader("nbgrader_config.py", path=str(repo_root)).load_config().CourseDirectory.db_url

    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    assert db_url() == "sqlite:///" + str(repo_root / "grading" / "gradebook.db")
    monkeypatch.setenv("COURSE_DB_URL", "postgresql+psycopg://u:p@127.0.0.1:1/x")
    assert db_url() == "postgresql+psycopg://u:p@127.0.0.1:1/x"


def test_missing_server_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres.Path, "glob", lambda self, pattern: iter(()))
    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)
    with pytest.raises(postgres.PostgresUnavailable, match="apt-get install postgresql"):
        postgres.find_bindir()


def test_port_taken_leaves_nothing(server: postgres.PostgresServer) -> None:
    """A second cluster on the running one's port fails with the log, and is not left running."""
    base = Path(tempfile.mkdtemp(prefix="rnn-pg-taken-"))
    os.chmod(base, 0o755)
    try:
        with pytest.raises(postgres.PostgresUnavailable, match="did not start"):
            postgres.start(base, server.port, timeout=20)
        assert not postgres.status(base)
        assert not _server_pids(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
