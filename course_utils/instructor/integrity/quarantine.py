"""Before grading, outside the sandbox: a submission folder keeps its notebooks and nothing else.

nbgrader (running with the grader's rights) copies a submission folder with
``shutil.copy``, which follows symbolic links, and the grading kernel starts in
the copy. So everything but the notebooks themselves is moved to
``grading/quarantine/<student>/<assignment>/`` and recorded, with the reason:

* symbolic links (``a.ipynb -> ../../../solutions/...`` would make nbgrader read
  the instructor's notebook), hard links, FIFOs and devices;
* oversized files (they fill the disk);
* every file that is not a top-level notebook (or nbgrader's own small
  ``timestamp.txt`` and ``submission_secret.txt``): a ``numpy.py`` or a
  ``course_utils/`` folder next to the notebook would be imported instead of
  the course's own modules (the kernel's folder comes first on ``sys.path``).
  The course's assignments read no files of their own; all data comes from
  ``course_utils``.

Links are moved as links (``os.rename``), never followed.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

__all__ = ["MAX_SUBMITTED_FILE_BYTES", "clear_kernel_folder", "sanitize_submission", "sanitize_submissions"]

MAX_SUBMITTED_FILE_BYTES = 50 * 1024 * 1024
NBGRADER_TIMESTAMP = "timestamp.txt"
# nbgrader's own small files in a submission: the time it was handed in (late penalties), and the
# secret `nbgrader release_feedback` matches the feedback to the submission with (hub exchange)
NBGRADER_FILES = (NBGRADER_TIMESTAMP, "submission_secret.txt")


def sanitize_submissions(
    course_root: str | os.PathLike,
    *,
    submitted: str = "grading/submitted",
    quarantine: str = "grading/quarantine",
    max_file_bytes: int = MAX_SUBMITTED_FILE_BYTES,
) -> dict[tuple[str, str], list[str]]:
    """Move everything but top-level regular notebook files out of the submissions; report it.

    Returns:
        ``{(student, assignment): [reason, ...]}`` for every submission touched
        (``(name, "*")`` for an entry of ``submitted/`` that is not a folder).
    """
    root = Path(course_root)
    base = root / submitted
    findings: dict[tuple[str, str], list[str]] = {}
    if not base.is_dir():
        return findings
    for student_dir in sorted(base.iterdir()):
        if student_dir.is_symlink() or not student_dir.is_dir():
            _quarantine(student_dir, root / quarantine / "_top")
            findings.setdefault((student_dir.name, "*"), []).append(
                f"{student_dir.name} is not a plain folder; moved to quarantine")
            continue
        for assignment_dir in sorted(student_dir.iterdir()):
            reasons = sanitize_submission(root, student_dir.name, assignment_dir.name, submitted=submitted,
                                          quarantine=quarantine, max_file_bytes=max_file_bytes)
            if reasons:
                findings[(student_dir.name, assignment_dir.name)] = reasons
    return findings


def sanitize_submission(
    course_root: str | os.PathLike,
    student: str,
    assignment: str,
    *,
    submitted: str = "grading/submitted",
    quarantine: str = "grading/quarantine",
    max_file_bytes: int = MAX_SUBMITTED_FILE_BYTES,
) -> list[str]:
    """:func:`sanitize_submissions` for one submission folder; the reasons (empty: nothing moved)."""
    root = Path(course_root)
    assignment_dir = root / submitted / student / assignment
    dest = root / quarantine / student / assignment
    if not (assignment_dir.is_symlink() or assignment_dir.exists()):
        return []
    if assignment_dir.is_symlink() or not assignment_dir.is_dir():
        reason = _describe(assignment_dir, assignment_dir.parent)
        _quarantine(assignment_dir, dest.parent)
        return [reason]
    reasons = []
    for entry in sorted(assignment_dir.iterdir()):
        reason = _bad_entry(entry, assignment_dir, max_file_bytes)
        if reason:
            reasons.append(reason)
            _quarantine(entry, dest)
    return reasons


def clear_kernel_folder(folder: str | os.PathLike, keep: set[str]) -> list[str]:
    """Remove from a kernel's folder every entry but top-level notebooks and ``keep`` (relative paths).

    For the formgrader's path, where nbgrader has already copied the submission
    (following its links) before any course code runs: what the kernel would
    find is removed, links unlinked (never followed). Returns what was removed.
    """
    base = Path(folder)
    removed = []
    for path in sorted(base.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        rel = path.relative_to(base).as_posix()
        if not (path.is_symlink() or path.exists()):
            continue
        plain_notebook = "/" not in rel and path.suffix == ".ipynb" and not path.is_symlink() and path.is_file()
        if plain_notebook or rel in NBGRADER_FILES or rel in keep:
            continue
        if path.is_dir() and not path.is_symlink():
            if any(k.startswith(rel + "/") for k in keep):
                continue
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(rel)
    return sorted(removed)


def _describe(path: Path, base: Path) -> str:
    rel = path.relative_to(base) if path.is_relative_to(base) else path
    if path.is_symlink():
        return f"submitted a symbolic link {rel} -> {os.readlink(path)}; moved to quarantine"
    return f"submitted {rel}, which is not a regular file; moved to quarantine"


def _bad_entry(path: Path, base: Path, max_bytes: int) -> str | None:
    """Why ``path`` (a direct child of the submission folder) must leave it, or None."""
    st = path.lstat()
    rel = path.relative_to(base)
    if stat.S_ISLNK(st.st_mode):
        return _describe(path, base)
    if stat.S_ISDIR(st.st_mode):
        return (f"submitted a folder {rel}/; only notebooks are graded, and a folder next to the notebook "
                "could be imported instead of the course's modules; moved to quarantine")
    if not stat.S_ISREG(st.st_mode):
        return _describe(path, base)
    if st.st_size > max_bytes:
        return f"submitted {rel} of {st.st_size} bytes (limit {max_bytes}); moved to quarantine"
    if st.st_nlink > 1:
        return f"submitted {rel}, a hard link to another file; moved to quarantine"
    if path.name in NBGRADER_FILES and st.st_size <= 1024:
        return None  # written by nbgrader (collect, submit), read by it (late penalties, release_feedback)
    if path.suffix != ".ipynb":
        return (f"submitted {rel}, which is not a notebook; only notebooks are graded, and a file next to "
                "the notebook could be imported instead of the course's modules; moved to quarantine")
    return None


def _quarantine(path: Path, dest_dir: Path) -> None:
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / path.name
    if target.exists() or target.is_symlink():
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    os.rename(path, target)  # same file system: moves links as links, never follows them
