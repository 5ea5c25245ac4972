"""``nbgrader zip_collect`` that one bad download cannot derail: plain student ids, checked archives.

nbgrader's own plugins trust the LMS download: a file named
``.._01_forward_and_loss.ipynb`` gives the student id ``..`` and lands outside
``grading/submitted/``, and one archive that is not a valid zip stops the
collection for every student. ``nbgrader_config.py`` installs these two
plugins instead:

``PlainNameCollector``
    nbgrader's filename collector, plus: a student id must be a plain name
    (letters, digits, ``.``, ``-``, ``_``; not ``.`` or ``..``) and a file id a
    relative path of plain names. Other files are skipped and recorded.
``SafeExtractor``
    extracts every archive on its own: an archive that cannot be read, holds a
    member outside its folder (``../x``, ``/etc/x``), a link, or unpacks to more
    than ``max_bytes`` is skipped and recorded; the others are extracted.

What was skipped, and why, is written to ``grading/downloads/<assignment>/rejected.csv``
(one ``file,reason`` row each), which :func:`course_utils.instructor.autograde.collect_zips` reports.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

from nbgrader.plugins.zipcollect import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Integer

from course_utils._files import atomic_path

__all__ = ["PLAIN_NAME", "PlainNameCollector", "SafeExtractor", "is_plain_name", "read_rejections"]

PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
REJECTED_FILE = "rejected.csv"


def is_plain_name(name: object) -> bool:
    """True for a name that is one path component and nothing else (no ``/``, not ``.``/``..``)."""
    return isinstance(name, str) and name not in (".", "..") and PLAIN_NAME.fullmatch(name) is not None


def _record(folder: Path, path: str, reason: str) -> None:
    """Append one rejection to ``<folder>/rejected.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / REJECTED_FILE, "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow([path, reason])


def read_rejections(download_dir: str | os.PathLike) -> list[tuple[str, str]]:
    """``[(file, reason)]`` recorded by the plugins under ``grading/downloads/<assignment>/``."""
    path = Path(download_dir) / REJECTED_FILE
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [(row[0], row[1]) for row in csv.reader(fh) if len(row) >= 2]


class PlainNameCollector(FileNameCollectorPlugin):
    """nbgrader's filename collector that only accepts plain student ids and file ids."""

    def collect(self, submitted_file: str) -> dict | None:
        info = super().collect(submitted_file)
        if not info:
            return info
        student, file_id = info.get("student_id"), info.get("file_id")
        parts = str(file_id or "").split("/")
        if not is_plain_name(student):
            reason = f"student id {student!r} is not a plain name"
        elif not file_id or not all(is_plain_name(p) for p in parts):
            reason = f"file id {file_id!r} is not a relative path of plain names"
        else:
            return info
        self.log.error("zip_collect: skipped %s: %s", submitted_file, reason)
        extracted = Path(submitted_file).resolve()
        for parent in extracted.parents:  # .../downloads/<assignment>/extracted/...
            if parent.name == "extracted":
                _record(parent.parent, os.path.relpath(extracted, parent), reason)
                break
        return None


class SafeExtractor(ExtractorPlugin):
    """Extract each archive on its own; skip (and record) the ones that are broken or unsafe."""

    max_bytes = Integer(512 * 1024 * 1024, help="Most bytes one archive may unpack to.").tag(config=True)
    max_members = Integer(20_000, help="Most members one archive may hold.").tag(config=True)

    def extract(self, archive_path: str, extracted_path: str) -> None:
        download_dir = Path(archive_path).parent
        for base, _, files in os.walk(archive_path):
            rel_dir = os.path.relpath(base, archive_path)
            out_dir = Path(extracted_path) / rel_dir
            out_dir.mkdir(parents=True, exist_ok=True)
            for name in sorted(files):
                src = Path(base) / name
                rel = os.path.normpath(os.path.join(rel_dir, name))
                try:
                    if src.is_symlink() or not src.is_file():
                        raise ValueError("not a regular file")
                    if name.endswith(tuple(self.zip_ext)):
                        stem = name
                        for ext in sorted(self.zip_ext, key=len, reverse=True):
                            if stem.endswith(ext):
                                stem = stem[: -len(ext)]
                                break
                        if stem.endswith(".tar"):
                            stem = stem[:-4]
                        self._extract_one(src, out_dir / stem)
                    else:
                        shutil.copy(src, out_dir / name)
                except Exception as exc:  # this archive is reported; the others are still extracted
                    reason = f"{type(exc).__name__}: {exc}"
                    self.log.error("zip_collect: skipped the archive %s: %s", rel, reason)
                    _record(download_dir, rel, f"archive not extracted ({reason})")

    def _extract_one(self, src: Path, dest: Path) -> None:
        # Extracted into a temporary folder beside dest, which replaces dest only once all of it is
        # out: a bad archive leaves no half-extracted submission.
        with atomic_path(dest, folder=True) as tmp:
            tmp.chmod(0o755)  # as a folder made by hand (mkdtemp makes it 0700)
            if zipfile.is_zipfile(src):
                with zipfile.ZipFile(src) as zf:
                    infos = zf.infolist()
                    self._check_members([(i.filename, i.file_size, (i.external_attr >> 16) & 0o170000 == 0o120000)
                                         for i in infos])
                    bad = zf.testzip()
                    if bad is not None:
                        raise ValueError(f"corrupt member {bad!r}")
                    zf.extractall(tmp)
            elif tarfile.is_tarfile(src):
                with tarfile.open(src) as tf:
                    members = tf.getmembers()
                    self._check_members([(m.name, m.size, m.issym() or m.islnk() or not (m.isfile() or m.isdir()))
                                         for m in members])
                    tf.extractall(tmp, filter="data")
            else:
                raise ValueError("not a zip or tar archive")

    def _check_members(self, members: list[tuple[str, int, bool]]) -> None:
        if len(members) > self.max_members:
            raise ValueError(f"{len(members)} members (limit {self.max_members})")
        total = 0
        for name, size, is_link in members:
            parts = name.replace("\\", "/").split("/")
            if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
                raise ValueError(f"member {name!r} points outside the archive's folder")
            if is_link:
                raise ValueError(f"member {name!r} is a link or a special file")
            total += max(int(size), 0)
            if total > self.max_bytes:
                raise ValueError(f"unpacks to more than {self.max_bytes} bytes")
