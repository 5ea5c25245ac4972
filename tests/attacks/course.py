"""A temporary copy of the nbgrader course, to grade attack submissions in.

``make_course(tmp_path)`` copies the course's ``nbgrader_config.py`` and one
assignment's instructor version from ``solutions/`` (the real assignment 01
when it exists, else a one-question toy built here), generates the release
with nbgrader, and returns a :class:`Course` that can submit notebooks, run
``nbgrader autograde`` with or without the sandbox kernel, and read back the
gradebook and the autograded notebooks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.prefix) / "bin"
REAL_ASSIGNMENT = "01_forward_and_loss"
TOY = "toy"

_MINIMAL_CONFIG = '''
import os
c = get_config()
COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.course_id = "rnn-nlp"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "grading/submitted"
c.CourseDirectory.autograded_directory = "grading/autograded"
c.CourseDirectory.feedback_directory = "grading/feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE_ROOT, "grading", "gradebook.db")
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
'''


def _meta(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
            "schema_version": 3, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def toy_source_notebook() -> nbformat.NotebookNode:
    """Instructor version of a small NumPy assignment: two answers, 5 points, hidden tests."""
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell("# Toy assignment: sigmoid and softmax"),
        v4.new_code_cell("import numpy as np\nfrom course_utils.checks import check_close",
                         metadata=_meta("imports", locked=True)),
        v4.new_code_cell(
            "def sigmoid(x):\n    ### BEGIN SOLUTION\n    return 1.0 / (1.0 + np.exp(-x))\n    ### END SOLUTION",
            metadata=_meta("sigmoid", solution=True)),
        v4.new_code_cell(
            'check_close("sigmoid(0)", sigmoid(0.0), 0.5)\n'
            "### BEGIN HIDDEN TESTS\n"
            'check_close("sigmoid([1, -2])", sigmoid(np.array([1.0, -2.0])), '
            "np.array([0.7310585786300049, 0.11920292202211755]))\n"
            "### END HIDDEN TESTS",
            metadata=_meta("test_sigmoid", grade=True, locked=True, points=2)),
        v4.new_code_cell(
            "def softmax(z):\n    ### BEGIN SOLUTION\n    e = np.exp(z - z.max())\n    return e / e.sum()\n"
            "    ### END SOLUTION",
            metadata=_meta("softmax", solution=True)),
        v4.new_code_cell(
            'check_close("softmax sums to 1", softmax(np.array([1.0, 2.0, 3.0])).sum(), 1.0)\n'
            "### BEGIN HIDDEN TESTS\n"
            'check_close("softmax([1, 2, 3])", softmax(np.array([1.0, 2.0, 3.0])), '
            "np.array([0.09003057317038046, 0.24472847105479767, 0.6652409557748219]))\n"
            "### END HIDDEN TESTS",
            metadata=_meta("test_softmax", grade=True, locked=True, points=3)),
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "rnn-course", "display_name": "RNN course (Python 3)",
                                 "language": "python"}
    return nb


def real_assignment_available() -> bool:
    return (REPO / "solutions" / REAL_ASSIGNMENT / f"{REAL_ASSIGNMENT}.ipynb").exists() and (
        os.environ.get("RNN_SANDBOX_TEST_TOY") != "1")


@dataclass
class Course:
    root: Path
    assignment: str

    # --- files -----------------------------------------------------------------
    @property
    def source_path(self) -> Path:
        return self.root / "solutions" / self.assignment / f"{self.assignment}.ipynb"

    @property
    def release_path(self) -> Path:
        return self.root / "assignments" / self.assignment / f"{self.assignment}.ipynb"

    def submitted_dir(self, student: str) -> Path:
        return self.root / "grading" / "submitted" / student / self.assignment

    def autograded_path(self, student: str) -> Path:
        return self.root / "grading" / "autograded" / student / self.assignment / f"{self.assignment}.ipynb"

    @property
    def gradebook(self) -> Path:
        return self.root / "grading" / "gradebook.db"

    def release(self) -> nbformat.NotebookNode:
        return nbformat.read(self.release_path, as_version=4)

    def source(self) -> nbformat.NotebookNode:
        return nbformat.read(self.source_path, as_version=4)

    # --- submissions -------------------------------------------------------------
    def answer_ids(self) -> list[str]:
        """grade_ids of the autograded answer cells (code, solution, not grade), in order."""
        ids = []
        for cell in self.release().cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
                ids.append(meta["grade_id"])
        return ids

    def answer_functions(self) -> tuple[str, ...]:
        """Names the instructor's answer cells define at top level (``sigmoid``, ...)."""
        import ast

        names: list[str] = []
        for cell in self.source().cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
                try:
                    tree = ast.parse(cell.source)
                except SyntaxError:
                    continue
                names += [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        return tuple(dict.fromkeys(names))

    def honest_notebook(self) -> nbformat.NotebookNode:
        """The release with every answer cell filled in from the instructor's solution."""
        solution = {c.metadata["nbgrader"]["grade_id"]: c.source for c in self.source().cells
                    if c.metadata.get("nbgrader", {}).get("solution")}
        nb = self.release()
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and meta.get("grade_id") in solution:
                text = solution[meta["grade_id"]]
                cell.source = "\n".join(line for line in text.splitlines() if "### " not in line)
        return nb

    def attack_notebook(self, code: str, *, everywhere: bool = False, last: bool = False,
                        markdown: str | None = None) -> nbformat.NotebookNode:
        """The blank release with ``code`` as the first answer cell (or every one, or the last); the rest stay stubs.

        ``markdown``: a markdown cell the student adds at the end.
        """
        nb = self.release()
        ids = self.answer_ids()
        targets = set(ids if everywhere else ids[-1:] if last else ids[:1])
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") in targets and code:
                cell.source = code
        if markdown is not None:
            nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
        return nb

    def submit(self, student: str, nb: nbformat.NotebookNode | None = None, *,
               extra_files: dict[str, str | bytes] | None = None,
               symlinks: dict[str, str] | None = None) -> Path:
        folder = self.submitted_dir(student)
        folder.mkdir(parents=True, exist_ok=True)
        if nb is not None:
            nbformat.write(nb, folder / f"{self.assignment}.ipynb")
        for name, content in (extra_files or {}).items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(folder / name, mode) as fh:
                fh.write(content)
        for name, target in (symlinks or {}).items():
            os.symlink(target, folder / name)
        return folder

    # --- grading -----------------------------------------------------------------------
    def nbgrader(self, *args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        full_env.pop("PYTHONPATH", None)
        full_env["PATH"] = f"{VENV_BIN}{os.pathsep}{full_env.get('PATH', '')}"  # nbgrader runs `alembic`
        return subprocess.run([str(VENV_BIN / "nbgrader"), *args], cwd=self.root, env=full_env,
                              capture_output=True, text=True, timeout=timeout)

    def autograde(self, *, kernel: str, env: dict | None = None, timeout: float = 900,
                  student: str | None = None) -> subprocess.CompletedProcess:
        # the tests run integrity.review themselves, as make grade does (safepath.IntegrityReview off)
        args = ["autograde", self.assignment, "--force", f"--Execute.kernel_name={kernel}",
                "--IntegrityReview.enabled=False"]
        if student:
            args.append(f"--student={student}")
        return self.nbgrader(*args, env={"COURSE_GRADING_KERNEL": kernel, **(env or {})}, timeout=timeout)

    def scores(self) -> dict[str, float | None]:
        """Autograded score of every submission in the gradebook (None: no grade recorded)."""
        from nbgrader.api import Gradebook

        out: dict[str, float | None] = {}
        with Gradebook(f"sqlite:///{self.gradebook}", course_id="rnn-nlp") as gb:
            for sub in gb.assignment_submissions(self.assignment):
                graded = self.autograded_path(sub.student.id).exists()
                out[sub.student.id] = float(sub.score) if graded else None
        return out

    def max_score(self) -> float:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.gradebook}", course_id="rnn-nlp") as gb:
            return float(gb.find_assignment(self.assignment).max_score)

    def outputs_text(self, student: str) -> str:
        """All text the autograded notebook's cells printed or raised, joined."""
        path = self.autograded_path(student)
        if not path.exists():
            return ""
        from course_utils.instructor.autograde import cell_output_text

        return "\n".join(cell_output_text(cell) for cell in nbformat.read(path, as_version=4).cells)


def make_course(tmp_path: Path, *, toy: bool | None = None, overrides: str = "") -> Course:
    """Copy the course configuration and one assignment into ``tmp_path/course``; release it."""
    root = tmp_path / "course"
    root.mkdir()
    use_real = real_assignment_available() if toy is None else not toy
    assignment = REAL_ASSIGNMENT if use_real else TOY
    config = REPO / "nbgrader_config.py"
    text = config.read_text() if config.exists() else _MINIMAL_CONFIG
    text += "\n# --- test overrides ---\n" + overrides + "\n"
    (root / "nbgrader_config.py").write_text(text)
    src = root / "solutions" / assignment
    if use_real:
        shutil.copytree(REPO / "solutions" / assignment, src,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    else:
        src.mkdir(parents=True)
        nbformat.write(toy_source_notebook(), src / f"{assignment}.ipynb")
    (root / "grading").mkdir(exist_ok=True)
    course = Course(root, assignment)
    done = course.nbgrader("generate_assignment", assignment, "--force")
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{done.stdout}\n{done.stderr}")
    return course


def notebook_json(nb: nbformat.NotebookNode) -> str:
    return json.dumps(nb)


def require_sandbox() -> None:
    """Skip when bubblewrap cannot run here, unless CI is set: in CI a missing sandbox fails."""
    import pytest

    from course_utils.instructor.sandbox import sandbox_status

    ok, why = sandbox_status()
    if ok:
        return
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set and the grading sandbox cannot run: {why}")
    pytest.skip(f"grading sandbox unavailable (bwrap): {why}")


def ensure_kernel() -> str:
    from course_utils.instructor.sandbox import ensure_sandbox_kernel

    return ensure_sandbox_kernel()


# Limits for the test runs: small enough that the resource attacks end fast.
TEST_LIMITS = {
    "RNN_SANDBOX_MEMORY_MIB": "2048",
    "RNN_SANDBOX_WORKDIR_MIB": "64",
    "RNN_SANDBOX_TMP_MIB": "64",
    "RNN_SANDBOX_SHM_MIB": "32",
    "RNN_SANDBOX_FSIZE_MIB": "32",
    "RNN_SANDBOX_OUTPUT_MIB": "2",
    "RNN_SANDBOX_NPROC": "64",
    "RNN_SANDBOX_WALL_S": "240",
}
# Grading configuration for the tests: a cell timeout short enough for the
# sleep-forever attack, long enough for a loaded 2-core machine.
TEST_OVERRIDES = """
c.Execute.timeout = 30
try:
    c.GradingExecute.timeout_override = 30
    c.GradingExecute.interrupt_grace = 3.0
except Exception:
    pass
"""
