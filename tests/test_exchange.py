"""course_utils.exchange.PrivateSubmit: nbgrader's submit, the submission closed to other users.

A real release, fetch and submit with nbgrader's command line in a temporary
course and exchange; the modes of what lands in the inbound are checked (plain
nbgrader leaves a 0777 folder of 0644 files; tests/test_hub.py shows that with
real Unix users on the hub, and that PrivateSubmit's modes keep them out).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.exchange import DIR_MODE, FILE_MODE

pytestmark = pytest.mark.slow

NOTEBOOK = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                       "source": "x = 1"}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _nbgrader(cwd: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "PATH": path}
    res = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{res.stderr[-2000:]}"
    return res


def _submit(tmp_path: Path, submit_class: str) -> Path:
    course, student, config, exchange = (tmp_path / n for n in ("course", "student", "config", "exchange"))
    for folder in (course / "release" / "ps1", student, config):
        folder.mkdir(parents=True)
    exchange.mkdir(mode=0o777)
    os.chmod(exchange, 0o777)
    (course / "release" / "ps1" / "ps1.ipynb").write_text(json.dumps(NOTEBOOK))
    (config / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = 'demo'\nc.Exchange.root = {str(exchange)!r}\n"
        f"c.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.db_url = 'sqlite:///{course / 'gb.db'}'\n"
        f"c.ExchangeFactory.submit = {submit_class!r}\n")
    _nbgrader(course, config, "release_assignment", "ps1")
    _nbgrader(student, config, "fetch_assignment", "ps1")
    _nbgrader(student, config, "submit", "ps1")
    (entry,) = (exchange / "demo" / "inbound").iterdir()
    return entry


def test_private_submit_closes_the_submission_to_others(tmp_path: Path) -> None:
    entry = _submit(tmp_path, "course_utils.exchange.PrivateSubmit")
    assert stat.S_IMODE(entry.stat().st_mode) & 0o777 == DIR_MODE == 0o750
    files = sorted(p.name for p in entry.iterdir())
    assert files == ["ps1.ipynb", "submission_secret.txt", "timestamp.txt"]
    for p in entry.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == FILE_MODE == 0o640, p.name
