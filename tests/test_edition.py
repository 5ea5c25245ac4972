"""The student edition: what it holds, one commit per change, and students' work survives `git pull`.

The builder (course_utils/instructor/edition.py) runs on a throw-away copy of the course (a git
repository of the course's own files), so the tests can change the "instructor's" files freely.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from course_utils.instructor import edition
from course_utils.instructor.edition import EditionError, build_edition, edition_files

pytestmark = pytest.mark.slow  # each build takes seconds

ROOT = Path(__file__).resolve().parent.parent
GIT_ID = ["-c", "user.name=Student", "-c", "user.email=student@example.invalid"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_ID, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def commits(repo: Path) -> list[str]:
    return git(repo, "rev-list", "HEAD").split()


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the instructor repository's files as its own git repository."""
    src = tmp_path_factory.mktemp("instructor") / "course"
    for rel in edition._candidate_files(ROOT):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    git(src, "init", "-q", "-b", "main")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "course")
    return src


def test_edition_holds_what_students_need_and_nothing_else(course: Path) -> None:
    files = edition_files(course)
    top = {Path(rel).parts[0] for rel in files}
    assert top == {"README.md", "Makefile", "pyproject.toml", "requirements.lock", "environment.yml", ".gitignore",
                   "lectures", "assignments", "course_utils", "tests", "benchmarks"}, top
    # Every lecture (and figure) and every released assignment, byte for byte.
    for folder in ("lectures", "assignments"):
        expected = {rel for rel in edition._candidate_files(course) if rel.startswith(folder + "/")}
        assert expected and expected <= files.keys(), expected - files.keys()
        assert all(files[rel] == (course / rel).read_bytes() for rel in expected)
    assert files["requirements.lock"] == (course / "requirements.lock").read_bytes()
    # The student side of course_utils, without its instructor package.
    student_py = {rel for rel in edition._candidate_files(course)
                  if rel.startswith("course_utils/") and rel.endswith(".py") and not edition.is_instructor_path(rel)}
    assert student_py <= files.keys()
    assert not [rel for rel in files if edition.is_instructor_path(rel) or rel.startswith(("solutions", "grading"))]
    assert "nbgrader_config.py" not in files
    # Tests: those of the student modules only; no grading, attack, sandbox, lab or browser test.
    tests = {rel for rel in files if rel.startswith("tests/")}
    assert {"tests/test_checks.py", "tests/test_gradcheck.py", "tests/test_data_download.py",
            "tests/data_helpers.py", "tests/conftest.py"} <= tests, sorted(tests)
    assert not [rel for rel in tests if any(w in rel for w in ("grading", "attacks", "browser", "test_lab", "edition"))]
    for rel in tests:
        assert "course_utils.instructor" not in files[rel].decode(), rel
    assert not [rel for rel in files if "bench_sandbox" in rel]
    # The student README lists every lecture and assignment and says how to submit and update.
    readme = files["README.md"].decode()
    for nb in sorted((course / "lectures").glob("*.ipynb")) + sorted((course / "assignments").glob("*/*.ipynb")):
        assert nb.name in readme, nb.name
    for phrase in ("make lab", "make test", "How to submit", "git pull", "nbgitpuller"):
        assert phrase in readme, phrase
    assert "{{" not in readme
    # pyproject: the same dependencies, the version read from the package.
    pyproject = files["pyproject.toml"].decode()
    assert 'dynamic = ["version"]' in pyproject and 'attr = "course_utils.__version__"' in pyproject
    for line in (course / "pyproject.toml").read_text().splitlines():
        if line.strip().startswith('"') and line.strip().endswith('",'):
            assert line in pyproject, f"dependency line {line!r} is missing from the student pyproject"


def test_second_build_adds_exactly_one_commit_and_none_when_unchanged(course: Path, tmp_path: Path) -> None:
    dest = tmp_path / "edition"
    first = build_edition(dest, root=course)
    assert first.commit and commits(dest) == [first.commit]
    assert build_edition(dest, root=course).commit is None, "a build with nothing changed made a commit"
    assert len(commits(dest)) == 1

    lecture = course / "lectures" / "03_simple_rnn_cell.ipynb"
    original = lecture.read_bytes()
    extra = course / "lectures" / "figures" / "edition_test_figure.svg"
    nb = json.loads(original)
    nb["cells"][0]["source"] = ["# Lecture 03 — The simple RNN cell (week 2 version)\n"]
    try:
        lecture.write_text(json.dumps(nb, indent=1))
        extra.parent.mkdir(exist_ok=True)
        extra.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
        second = build_edition(dest, root=course, message="Week 2")
        assert second.commit and commits(dest) == [second.commit, first.commit]
        changed = set(git(dest, "diff", "--name-only", first.commit, second.commit).split())
        assert changed == {"lectures/03_simple_rnn_cell.ipynb", "lectures/figures/edition_test_figure.svg",
                           "README.md"}, changed
        # A file the instructor removes leaves the edition too, in one more commit.
        extra.unlink()
        third = build_edition(dest, root=course)
        assert third.commit and len(commits(dest)) == 3
        assert not (dest / "lectures/figures/edition_test_figure.svg").exists()
        # What is committed is exactly the edition's files.
        tracked = set(git(dest, "ls-files").split("\n")) - {""}
        expected = edition_files(course)
        assert tracked == expected.keys()
        assert all((dest / rel).read_bytes() == data for rel, data in expected.items())
        assert not git(dest, "status", "--porcelain")
    finally:
        lecture.write_bytes(original)
        extra.unlink(missing_ok=True)


def test_students_edits_survive_git_pull_of_the_next_version(course: Path, tmp_path: Path) -> None:
    dest, clone = tmp_path / "edition", tmp_path / "student"
    build_edition(dest, root=course)
    git(tmp_path, "clone", "-q", str(dest), str(clone))
    # The student answers assignment 01 (committed), starts assignment 02 (not committed) and keeps
    # a scratch notebook among the lectures (never added).
    a1 = clone / "assignments/01_forward_and_loss/01_forward_and_loss.ipynb"
    nb = json.loads(a1.read_text())
    answer = next(c for c in nb["cells"] if "YOUR CODE HERE" in "".join(c["source"]))
    answer["source"] = ["def sigmoid(z):\n", "    return my_own_answer(z)\n"]
    a1.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    git(clone, "commit", "-q", "-am", "my answer to 01")
    a2 = clone / "assignments/02_bptt/02_bptt.ipynb"
    a2_text = a2.read_text().replace("# YOUR CODE HERE", "# YOUR CODE HERE\n# my work in progress", 1)
    a2.write_text(a2_text)
    scratch = clone / "lectures" / "my_scratch.py"
    scratch.write_text("print('my notes')\n")

    # The instructor publishes the next version: a changed lecture and a new figure.
    lecture = course / "lectures" / "04_per_token_loss.ipynb"
    original = lecture.read_bytes()
    figure = course / "lectures" / "figures" / "edition_pull_test.svg"
    try:
        nb = json.loads(original)
        nb["cells"].append({"cell_type": "markdown", "id": "week3", "metadata": {}, "source": ["Week 3 addendum."]})
        lecture.write_text(json.dumps(nb, indent=1))
        figure.parent.mkdir(exist_ok=True)
        figure.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
        assert build_edition(dest, root=course).commit
    finally:
        lecture.write_bytes(original)
        figure.unlink(missing_ok=True)

    git(clone, "pull", "-q", "--no-rebase", "--no-edit")
    assert "Week 3 addendum." in (clone / "lectures/04_per_token_loss.ipynb").read_text()
    assert (clone / "lectures/figures/edition_pull_test.svg").exists()
    assert "my_own_answer(z)" in a1.read_text()
    assert a2.read_text() == a2_text
    assert scratch.read_text() == "print('my notes')\n"
    assert "my answer to 01" in git(clone, "log", "--format=%s")


def test_refuses_a_destination_it_does_not_own(course: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(EditionError, match="not empty"):
        build_edition(foreign, root=course)
    other_repo = tmp_path / "other"
    other_repo.mkdir()
    git(other_repo, "init", "-q")
    with pytest.raises(EditionError, match="did not create"):
        build_edition(other_repo, root=course)
    with pytest.raises(EditionError, match="inside the instructor repository"):
        build_edition(course / "edition", root=course)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_make_student_edition_runs_unattended(tmp_path: Path) -> None:
    """`make student-edition DEST=...` needs no terminal and no input, and says what it did."""
    dest = tmp_path / "ed"
    run = subprocess.run(["make", "--no-print-directory", "-s", "student-edition", f"DEST={dest}"], cwd=ROOT,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "new commit" in run.stdout and (dest / ".git").is_dir() and (dest / "lectures").is_dir()
    again = subprocess.run(["make", "--no-print-directory", "-s", "student-edition", f"DEST={dest}"], cwd=ROOT,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "no commit" in again.stdout, again.stdout + again.stderr
    usage = subprocess.run(["make", "--no-print-directory", "-s", "student-edition"], cwd=ROOT,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert usage.returncode != 0 and "usage: make student-edition DEST=" in usage.stderr
