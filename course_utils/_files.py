"""Atomic writes: a reader sees the old file (or folder) or the new one, never half of one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(dest: str | os.PathLike[str], *, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; when the block succeeds it replaces ``dest``.

    Write the new content to the yielded path (an empty file, or an empty folder when
    ``folder``). When the ``with`` block ends normally it is renamed onto ``dest`` with
    ``os.replace``, atomic because the temporary sits in the same folder, so on the same file
    system (an existing folder ``dest`` is removed just before). When the block raises, the
    temporary is removed and ``dest`` is left as it was. The parent folder is created if needed.

    >>> with atomic_path(cache / "names.json") as tmp:
    ...     tmp.write_text(json.dumps(names))
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = f".{dest.name}.", ".part"
    if folder:
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=prefix, suffix=suffix))
    else:
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=prefix, suffix=suffix)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        if folder and dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp)
        else:
            tmp.unlink(missing_ok=True)
