"""Tests for course_utils._files: atomic writes of a file or a folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_utils._files import atomic_path


def test_file_is_replaced_only_when_the_block_succeeds(tmp_path: Path) -> None:
    dest = tmp_path / "sub" / "cache.json"
    with atomic_path(dest) as tmp:
        assert tmp.parent == dest.parent and tmp != dest and not dest.exists()
        tmp.write_text("new")
    assert dest.read_text() == "new"
    with pytest.raises(RuntimeError, match="half way"), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("half way")
    assert dest.read_text() == "new"  # the old content survives a failed write
    assert sorted(p.name for p in dest.parent.iterdir()) == ["cache.json"]  # no temporary left


def test_folder_replaces_an_existing_one(tmp_path: Path) -> None:
    dest = tmp_path / "data"
    (dest / "old").mkdir(parents=True)
    with atomic_path(dest, folder=True) as tmp:
        assert tmp.is_dir() and not any(tmp.iterdir())
        (tmp / "names").mkdir()
    assert sorted(p.name for p in dest.iterdir()) == ["names"]
    with pytest.raises(OSError), atomic_path(dest, folder=True) as tmp:
        (tmp / "partial").write_text("x")
        raise OSError("disk full")
    assert sorted(p.name for p in dest.iterdir()) == ["names"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
