"""The Canvas export: required columns, final scores (late penalty applied), flags beside them."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.instructor import lms

A1, A2 = "01_forward_and_loss", "02_bptt"
DUE = dt.datetime(2026, 11, 1, 12, 0)


@pytest.fixture()
def gradebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A gradebook of three students: one complete, one late and flagged, one who handed in nothing."""
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        for name, due, cells in ((A1, DUE, {"q1": 4.0, "q2": 6.0}), (A2, DUE + dt.timedelta(days=7), {"r1": 14.0})):
            gb.update_or_create_assignment(name, duedate=due)
            gb.update_or_create_notebook(name, name)
            for cell, points in cells.items():
                gb.update_or_create_grade_cell(cell, name, name, max_score=points, cell_type="code")
        gb.add_student("s1", first_name="Ada", last_name="Lovelace", email="ada@example.edu", lms_user_id="1001")
        gb.add_student("s2", first_name="Alan", last_name="Turing")
        gb.add_student("s3")
        sub = gb.add_submission(A1, "s1", timestamp=DUE - dt.timedelta(hours=1))
        gb.find_grade("q1", A1, A1, "s1").auto_score = 4.0
        gb.find_grade("q2", A1, A1, "s1").auto_score = 5.0
        gb.add_submission(A2, "s1", timestamp=DUE)
        gb.find_grade("r1", A2, A2, "s1").auto_score = 14.0
        late = gb.add_submission(A1, "s2", timestamp=DUE + dt.timedelta(hours=3))
        gb.find_grade("q1", A1, A1, "s2").auto_score = 4.0
        gb.find_grade("q2", A1, A1, "s2").auto_score = 6.0
        late.notebooks[0].late_submission_penalty = 3.0
        gb.db.commit()
        assert sub.total_seconds_late == 0 and late.total_seconds_late == pytest.approx(3 * 3600)
    return url


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow  # builds an nbgrader gradebook (alembic migrations): 5-10 s
def test_canvas_csv_has_required_columns_and_final_scores(gradebook: str, tmp_path: Path) -> None:
    flags = {("s2", A1): ["cell q2, line 3: get_ipython (kernel hook)"], ("s3", ""): ["symlink quarantined"]}
    result = lms.export_canvas(gradebook, tmp_path / "out", flags=flags, section="RNN-01")
    with result.grades_csv.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == [*lms.CANVAS_ID_COLUMNS, A1, A2]
    rows = _rows(result.grades_csv)
    assert rows[0]["Student"] == "Points Possible" and rows[0][A1] == "10" and rows[0][A2] == "14"
    by_sis = {r["SIS User ID"]: r for r in rows[1:]}
    assert set(by_sis) == {"s1", "s2", "s3"} and result.students == 3
    assert by_sis["s1"] == {"Student": "Lovelace, Ada", "ID": "1001", "SIS User ID": "s1",
                            "SIS Login ID": "ada@example.edu", "Section": "RNN-01", A1: "9", A2: "14"}
    assert by_sis["s2"][A1] == "7"           # 10 raw less the late penalty of 3
    assert by_sis["s2"][A2] == "0" and by_sis["s3"][A1] == "0"  # nothing handed in
    assert by_sis["s3"]["Student"] == "s3" and by_sis["s3"]["SIS Login ID"] == "s3"
    # no flag text in the file Canvas imports
    assert "get_ipython" not in result.grades_csv.read_text(encoding="utf-8")


@pytest.mark.slow  # builds an nbgrader gradebook (alembic migrations): 5-10 s
def test_flags_file_beside_it(gradebook: str, tmp_path: Path) -> None:
    flags = {("s2", A1): ["score forged?"], ("s3", ""): ["symlink quarantined"]}
    result = lms.export_canvas(gradebook, tmp_path, flags=flags)
    assert result.flags_csv.parent == result.grades_csv.parent
    rows = {(r["SIS User ID"], r["assignment"]): r for r in _rows(result.flags_csv)}
    assert len(rows) == 6
    assert rows[("s2", A1)] == {"Student": "Turing, Alan", "SIS User ID": "s2", "assignment": A1, "raw_score": "10",
                                "late_penalty": "3", "late": "yes", "score": "7", "flagged": "score forged?"}
    assert rows[("s3", A1)]["flagged"] == rows[("s3", A2)]["flagged"] == "symlink quarantined"
    assert rows[("s1", A1)]["flagged"] == "" and rows[("s1", A1)]["late"] == ""
    assert result.flagged == 3


def test_read_flags_from_integrity_report(tmp_path: Path) -> None:
    report = tmp_path / "integrity.json"
    report.write_text(json.dumps({"s2/01_forward_and_loss": ["a", "b"], "s3": ["c"]}))
    assert lms.read_flags(report) == {("s2", A1): ["a", "b"], ("s3", ""): ["c"]}
    assert lms.read_flags(tmp_path / "absent.json") == {}
    report.write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        lms.read_flags(report)


@pytest.mark.slow  # builds an nbgrader gradebook (alembic migrations): 5-10 s
def test_empty_gradebook_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    with pytest.raises(ValueError, match="has no assignments"):
        lms.export_canvas(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)


@pytest.mark.slow  # builds an nbgrader gradebook (alembic migrations): 5-10 s
def test_command_line_on_a_course_copy(gradebook: str, tmp_path: Path, repo_root: Path) -> None:
    """``python -m course_utils.instructor.lms`` reads the gradebook named by COURSE_DB_URL and integrity.json."""
    course = tmp_path / "course"
    (course / "grading").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text((repo_root / "nbgrader_config.py").read_text())
    (course / "grading" / "integrity.json").write_text(json.dumps({"s2/01_forward_and_loss": ["flag!"]}))
    env = {**os.environ, "COURSE_DB_URL": gradebook,
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    res = subprocess.run([sys.executable, "-m", "course_utils.instructor.lms", "--course-dir", str(course)],
                         capture_output=True, text=True, env=env, cwd=repo_root)
    assert res.returncode == 0, res.stderr
    assert "3 students x 2 assignments" in res.stdout and "1 flagged" in res.stdout
    assert (course / "grading" / "canvas_grades.csv").is_file()
