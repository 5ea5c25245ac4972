"""A fresh clone of the student edition runs on its own: its course_utils, its tests, its lectures.

Within the suite's time budget: the edition is built and cloned as a student would, then run in an
environment that has the main .venv's third-party packages but only the edition's course_utils
(tests/edition_env.py says how). It runs a fast part of the edition's own unit tests and executes
one lecture through nbval, as the edition's `make test` does for all of them. The edition's full
`make test` (its own .venv from scratch) is measured by hand: see the README.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from edition_env import install_kernel, make_overlay_env, run

from course_utils.instructor.edition import build_edition

pytestmark = pytest.mark.slow

# Quick ones among the edition's unit tests (the student-side checks, gradients, vocabulary, a widget,
# and the lock/pyproject/environment.yml agreement of the edition's own files).
FAST_TESTS = ["tests/test_checks.py", "tests/test_gradcheck.py", "tests/test_data_vocab.py",
              "tests/test_widgets_forward.py", "tests/test_environment_files.py"]
LECTURE = "lectures/02_forward_propagation.ipynb"  # the shortest lecture (about 10 s of kernel time)


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a student's fresh clone of the edition, the python of an environment that runs it)."""
    base = tmp_path_factory.mktemp("student")
    build_edition(base / "published")
    clone = base / "clone"
    subprocess.run(["git", "clone", "-q", str(base / "published"), str(clone)], check=True)
    python = make_overlay_env(base / "env", clone)
    install_kernel(python)
    return clone, python


def test_the_editions_course_utils_imports_without_the_instructor_package(student: tuple[Path, Path]) -> None:
    clone, python = student
    script = (
        "import importlib, pkgutil, course_utils\n"
        "print(course_utils.__file__)\n"
        "names = [m.name for m in pkgutil.walk_packages(course_utils.__path__, 'course_utils.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(len(names), 'modules')\n"
        "try:\n"
        "    import course_utils.instructor\n"
        "except ModuleNotFoundError as exc:\n"
        "    print('no instructor:', exc.name)\n"
    )
    result = run(python, "-c", script, cwd=clone.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == str(clone / "course_utils" / "__init__.py"), lines
    assert int(lines[1].split()[0]) >= 20, lines
    assert lines[2] == "no instructor: course_utils.instructor", lines


def test_a_fresh_clone_passes_its_unit_tests_and_runs_a_lecture(student: tuple[Path, Path]) -> None:
    clone, python = student
    result = run(python, "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile", "-p", "no:cacheprovider", "--nbval-lax",
                 "--nbval-kernel-name", "rnn-course", "--nbval-cell-timeout", "600", *FAST_TESTS, LECTURE,
                 cwd=clone, COURSE_THREADS="1")
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    # Every cell of the lecture ran (nbval reports one item per code cell).
    assert "lectures/02_forward_propagation.ipynb" in result.stdout or "passed" in summary
    assert not (clone / "solutions").exists() and not list(clone.rglob("nbgrader_config.py"))
