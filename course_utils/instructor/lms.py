"""Grades out to the LMS: a Canvas gradebook CSV from nbgrader's gradebook, flags beside it.

``export_canvas`` reads the gradebook (sqlite or PostgreSQL, whatever
``CourseDirectory.db_url`` says) and writes two files:

``grading/canvas_grades.csv``
    what Canvas's *Gradebook → Import* takes: the identity columns Canvas
    requires, ``Student`` (``Last, First``), ``ID`` (the Canvas user id, from
    nbgrader's ``lms_user_id``; may be empty when the SIS id is given),
    ``SIS User ID`` (the nbgrader student id), ``SIS Login ID`` and ``Section``;
    a ``Points Possible`` row; then one column per assignment holding the final
    score (raw score less nbgrader's late penalty, 0 for no submission). Only
    grades go in this file: any other column would become a new assignment in
    Canvas.
``grading/canvas_flags.csv``
    for the instructor, beside it: one row per student and assignment with the
    raw score, the late penalty, whether it was late, and the integrity flags
    of ``grading/integrity.json`` (written by ``make grade``). A flag asks for a
    look before the grade is uploaded; it changes no score.

Use ``make lms-export`` (``python -m course_utils.instructor.lms``, see the README) or
:func:`export_canvas`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

CANVAS_ID_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
FLAG_COLUMNS = ("Student", "SIS User ID", "assignment", "raw_score", "late_penalty", "late", "score", "flagged")

__all__ = ["CANVAS_ID_COLUMNS", "FLAG_COLUMNS", "LmsExport", "export_canvas", "read_flags"]


@dataclass(frozen=True)
class LmsExport:
    """Where the export went and what it holds.

    Attributes:
        grades_csv: the Canvas import file.
        flags_csv: the instructor's file beside it.
        students: number of student rows.
        assignments: assignment names, in the gradebook's order (by due date, then name).
        flagged: number of (student, assignment) rows with an integrity flag.
    """

    grades_csv: Path
    flags_csv: Path
    students: int
    assignments: tuple[str, ...]
    flagged: int


def read_flags(path: str | os.PathLike) -> dict[tuple[str, str], list[str]]:
    """Integrity flags from ``integrity.json``, keyed ``(student, assignment)``.

    The report's keys are ``"student/assignment"``; a bare ``"student"`` key applies to every
    assignment and is stored under ``(student, "")``. A missing file means no flags.
    """
    path = Path(path)
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a JSON object of 'student/assignment' -> reasons, "
                         f"got {type(data).__name__}")
    flags: dict[tuple[str, str], list[str]] = {}
    for key, reasons in data.items():
        student, _, assignment = str(key).partition("/")
        items = [reasons] if isinstance(reasons, str) else [str(r) for r in reasons]
        flags.setdefault((student, assignment), []).extend(items)
    return flags


def _student_name(last: str | None, first: str | None, student_id: str) -> str:
    parts = [p for p in (last, first) if p]
    return ", ".join(parts) if parts else student_id


def _fmt(x: float) -> str:
    return f"{x:g}"


def export_canvas(
    db_url: str,
    out_dir: str | os.PathLike,
    *,
    flags: Mapping[tuple[str, str], Iterable[str]] | None = None,
    section: str = "",
    login_ids: Mapping[str, str] | None = None,
) -> LmsExport:
    """Write ``canvas_grades.csv`` and ``canvas_flags.csv`` into ``out_dir`` from the gradebook at ``db_url``.

    Args:
        db_url: the gradebook's SQLAlchemy URL (``CourseDirectory.db_url``).
        out_dir: the folder for both files (``grading/``).
        flags: ``(student, assignment) -> reasons`` (see :func:`read_flags`); ``(student, "")``
            applies to all of a student's assignments.
        section: the Canvas section written in every row (empty: Canvas keeps the student's).
        login_ids: student id -> Canvas login id; default the student's e-mail, else the id.

    Raises:
        ValueError: the gradebook has no assignments (nothing to export).
    """
    from nbgrader.api import Gradebook, MissingEntry

    flags = flags or {}
    login_ids = login_ids or {}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grades_csv, flags_csv = out / "canvas_grades.csv", out / "canvas_flags.csv"
    with Gradebook(db_url) as gb:
        assignments = list(gb.assignments)
        if not assignments:
            raise ValueError(f"the gradebook {db_url.split('@')[-1]} has no assignments: release and autograde first")
        names = tuple(a.name for a in assignments)
        grade_rows, flag_rows, n_flagged = [], [], 0
        students = sorted(gb.students, key=lambda s: s.id)
        for student in students:
            name = _student_name(student.last_name, student.first_name, student.id)
            row = {"Student": name, "ID": student.lms_user_id or "", "SIS User ID": student.id,
                   "SIS Login ID": login_ids.get(student.id) or student.email or student.id, "Section": section}
            for assignment in assignments:
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    raw, penalty, late = 0.0, 0.0, False
                else:
                    raw = float(sub.score or 0.0)
                    penalty = float(sub.late_submission_penalty or 0.0)
                    late = bool(sub.total_seconds_late and sub.total_seconds_late > 0)
                score = max(0.0, raw - penalty)
                row[assignment.name] = _fmt(score)
                reasons = [*flags.get((student.id, assignment.name), []), *flags.get((student.id, ""), [])]
                n_flagged += bool(reasons)
                flag_rows.append({"Student": name, "SIS User ID": student.id, "assignment": assignment.name,
                                  "raw_score": _fmt(raw), "late_penalty": _fmt(penalty), "late": "yes" if late else "",
                                  "score": _fmt(score), "flagged": " | ".join(dict.fromkeys(reasons))})
            grade_rows.append(row)
        points = {"Student": "Points Possible", "ID": "", "SIS User ID": "", "SIS Login ID": "", "Section": "",
                  **{a.name: _fmt(float(a.max_score)) for a in assignments}}
    with grades_csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*CANVAS_ID_COLUMNS, *names])
        writer.writeheader()
        writer.writerow(points)
        writer.writerows(grade_rows)
    with flags_csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(FLAG_COLUMNS))
        writer.writeheader()
        writer.writerows(flag_rows)
    return LmsExport(grades_csv, flags_csv, len(students), names, n_flagged)


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.instructor.lms [--course-dir D] [--section S]``: export the course's gradebook."""
    from course_utils.instructor.autograde import COURSE_ROOT, GRADING_DIR, load_course_config

    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.lms", description=__doc__.split("\n")[0])
    parser.add_argument("--course-dir", type=Path, default=Path(COURSE_ROOT))
    parser.add_argument("--section", default="", help="Canvas section for every row (default: leave empty)")
    args = parser.parse_args(argv)
    grading = args.course_dir / GRADING_DIR
    db_url = load_course_config(args.course_dir)["c"].CourseDirectory.db_url
    try:
        result = export_canvas(db_url, grading, flags=read_flags(grading / "integrity.json"), section=args.section)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{result.grades_csv}: {result.students} students x {len(result.assignments)} assignments (Canvas import)")
    print(f"{result.flags_csv}: {result.flagged} flagged row(s); look at them before uploading")
    return 0


if __name__ == "__main__":
    sys.exit(main())
