"""The instructor's commands end to end: grade() through the CLI, zip_collect, and the sandbox switch."""

from __future__ import annotations

import csv
import os
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_utils.instructor import autograde
from course_utils.instructor.__main__ import main
from course_utils.instructor.autograde import GradingError, grading_kernel, make_course_copy, solution_submission

A = "01_forward_and_loss"


def test_grading_kernel_without_sandbox_warns(capsys):
    with pytest.warns(UserWarning, match="WITHOUT the sandbox"):
        assert grading_kernel(sandbox=False) == "rnn-course"
    assert "WARNING" in capsys.readouterr().err


def test_grading_kernel_fails_clearly_when_the_sandbox_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "course_utils.instructor.sandbox", None)  # import now fails
    with pytest.raises(GradingError, match="--no-sandbox"):
        grading_kernel(sandbox=True)


def test_load_course_config_lists_assignments_with_timeouts():
    config = autograde.load_course_config()
    assert list(config["ASSIGNMENTS"]) == autograde.assignment_ids()
    assert all(a["timeout"] > 0 for a in config["ASSIGNMENTS"].values())
    assert config["c"].OverwriteCells.add_missing_cells is True
    assert config["c"].CourseDirectory.release_directory == "assignments"


@pytest.mark.slow
def test_grade_cli_unsandboxed_writes_grades_feedback_and_report(tmp_path, capsys):
    course = make_course_copy(tmp_path / "course")
    folder = course / "grading" / "submitted" / "alice" / A
    folder.mkdir(parents=True)
    nbformat.write(solution_submission(A), str(folder / f"{A}.ipynb"))
    (course / "grading" / "submitted" / "bob" / A).mkdir(parents=True)  # handed in nothing

    with pytest.warns(UserWarning):
        code = main(["--course-dir", str(course), "grade", "--no-sandbox", "--assignment", A])
    assert code == 0
    out = capsys.readouterr()
    assert "alice" in out.out and "10 / 10" in out.out and "WITHOUT the sandbox" in out.err

    rows = {r["student_id"]: r for r in csv.DictReader(open(course / "grading" / "grades.csv"))}
    assert float(rows["alice"]["score"]) == 10.0 and float(rows["alice"]["max_score"]) == 10.0
    assert float(rows["bob"]["score"]) == 0.0
    problems = list(csv.DictReader(open(course / "grading" / "problems.csv")))
    assert [p["student"] for p in problems] == ["bob"]
    feedback = course / "grading" / "feedback" / "alice" / A / f"{A}.html"
    html = feedback.read_text(encoding="utf-8")
    assert "✓ sigmoid(0.0) OK" in html
    assert "✓ sigmoid of a random (4, 5) array OK" in html  # the hidden checks' results are shown ...
    assert "default_rng" not in html and "HIDDEN TESTS" not in html  # ... but not their code


@pytest.mark.slow
def test_zip_collect_moves_lms_downloads_into_submitted(tmp_path):
    course = make_course_copy(tmp_path / "course")
    archive = course / "grading" / "downloads" / A / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms_download.zip", "w") as zf:
        zf.writestr(f"s1234567_{A}.ipynb", nbformat.writes(solution_submission(A)))
    assert main(["--course-dir", str(course), "zip-collect", A]) == 0
    collected = course / "grading" / "submitted" / "s1234567" / A / f"{A}.ipynb"
    assert collected.is_file()
    nbformat.validate(nbformat.read(collected, as_version=4))


@pytest.mark.slow
def test_formgrader_sees_the_assignments_and_a_working_exchange(tmp_path, monkeypatch):
    """What the formgrader in JupyterLab shows: no missing-exchange warning, every assignment."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # nbgrader runs `alembic`
    course = make_course_copy(tmp_path / "course")
    config = autograde.load_course_config(course)["c"]
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    assert api.exchange_missing is False and api.exchange_root == str(course / "grading" / "exchange")
    assert [a["name"] for a in api.get_assignments()] == autograde.assignment_ids()
