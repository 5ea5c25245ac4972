"""zip_collect against hostile LMS downloads (issue 17, finding 7): plain ids only, one bad archive reported.

Graded in one ``nbgrader zip_collect`` run: two honest students (one zipped, one
a loose notebook), and next to them an id of ``..``, an archive whose member
climbs out of its folder, a link inside a tar, and a file that claims to be a
zip. The honest ones must be collected; nothing may land outside
``grading/submitted/``; every bad one is named in the result with its reason.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_utils.instructor.autograde import collect_zips, make_course_copy
from course_utils.instructor.zip_collect import is_plain_name

A = "01_forward_and_loss"


def test_plain_names() -> None:
    assert all(is_plain_name(n) for n in ("s1234567", "anna.b", "x-1", "a_b"))
    assert not any(is_plain_name(n) for n in ("..", ".", "", "a/b", "/abs", "../x", "a\\b", "-x", "a" * 200, None))


@pytest.mark.slow
def test_zip_collect_rejects_unsafe_ids_and_bad_archives_without_stopping(tmp_path: Path) -> None:
    course = make_course_copy(tmp_path / "course")
    archive = course / "grading" / "downloads" / A / "archive"
    archive.mkdir(parents=True)
    notebook = nbformat.writes(nbformat.v4.new_notebook())
    with zipfile.ZipFile(archive / "a_good.zip", "w") as zf:
        zf.writestr(f"s1_{A}.ipynb", notebook)
    (archive / f"s2_{A}.ipynb").write_text(notebook)
    with zipfile.ZipFile(archive / "b_dotdot.zip", "w") as zf:
        zf.writestr(f".._{A}.ipynb", notebook)  # student id ".."
    with zipfile.ZipFile(archive / "c_climb.zip", "w") as zf:
        zf.writestr(f"../../../../evil_{A}.ipynb", notebook)
    data = notebook.encode()
    with tarfile.open(archive / "d_link.tar.gz", "w:gz") as tf:
        link = tarfile.TarInfo(f"s3_{A}.ipynb")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
        info = tarfile.TarInfo(f"s4_{A}.ipynb")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    (archive / "e_broken.zip").write_bytes(b"PK\x03\x04 this is not a zip file at all")

    result = collect_zips(A, course)

    submitted = course / "grading" / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["s1", "s2"], "the honest students are collected"
    assert (submitted / "s1" / A / f"{A}.ipynb").is_file() and (submitted / "s2" / A / f"{A}.ipynb").is_file()
    outside = [p for p in course.rglob(f"*{A}.ipynb")
               if not p.is_relative_to(submitted) and "downloads" not in p.parts
               and not p.is_relative_to(course / "solutions") and not p.is_relative_to(course / "assignments")]
    assert outside == [], f"files landed outside grading/submitted/: {outside}"
    assert not list(tmp_path.rglob(f"evil_{A}.ipynb")), "an archive member climbed out of its folder"
    reasons = dict(result.rejected)
    assert any("'..' is not a plain name" in r for r in reasons.values()), result.rejected
    assert "archive not extracted" in reasons.get("c_climb.zip", ""), result.rejected
    assert "link" in reasons.get("d_link.tar.gz", ""), result.rejected
    assert "archive not extracted" in reasons.get("e_broken.zip", ""), result.rejected
    assert "SKIPPED e_broken.zip" in result.summary()
