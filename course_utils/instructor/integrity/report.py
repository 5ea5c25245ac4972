"""The review's output for the instructor: a ``flagged`` column in ``grades.csv`` and ``integrity.json``.

Both are written whatever happened before: a grades file that is missing,
empty or unreadable still comes out with its ``flagged`` column, so that an
export can never look clean because the review could not run.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["FLAG_COLUMN", "add_flag_column", "write_report"]

FLAG_COLUMN = "flagged"


def add_flag_column(grades_csv: str | os.PathLike, flags: Mapping[Any, Iterable[str]]) -> None:
    """Add (or refresh) a ``flagged`` column in nbgrader's ``grades.csv``.

    ``flags`` maps a student id, or ``(student, assignment)``, to reasons; the
    column holds the reasons joined by `` | `` (empty when nothing was found).
    A student flagged for an assignment that has no row (e.g. nbgrader could not
    grade it at all) gets a row of its own, so no flag is lost.
    """
    path = Path(grades_csv)
    rows: list[dict[str, str]] = []
    fieldnames: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.DictReader(fh)
            fieldnames = list(reader.fieldnames or [])
            rows = [dict(r) for r in reader]
    except OSError:
        pass
    if not fieldnames:
        fieldnames = ["assignment", "student_id"]
    if FLAG_COLUMN not in fieldnames:
        fieldnames.append(FLAG_COLUMN)
    seen = set()
    for row in rows:
        student, assignment = row.get("student_id") or "", row.get("assignment") or ""
        seen.add((student, assignment))
        reasons = [*flags.get((student, assignment), []), *flags.get(student, [])]  # type: ignore[call-overload]
        row[FLAG_COLUMN] = " | ".join(dict.fromkeys(reasons))
    for key, reasons in flags.items():
        if isinstance(key, tuple) and len(key) == 2 and key not in seen and list(reasons) and key[1] != "*":
            rows.append({"student_id": key[0], "assignment": key[1], FLAG_COLUMN: " | ".join(reasons)})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_report(path: str | os.PathLike, flags: Mapping[Any, Iterable[str]]) -> None:
    """Write the flags as JSON (``grading/integrity.json``) for the instructor."""
    data = {("/".join(k) if isinstance(k, tuple) else str(k)): list(v) for k, v in flags.items() if v}
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
