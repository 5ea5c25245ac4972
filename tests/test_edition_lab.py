"""`make lab` greets nobody with "Would you like to get notified about official Jupyter news?".

JupyterLab's announcements plugin asks this on first start. The instructor's `make setup` and the
edition's `make lab-plugins` (run by its setup) switch the plugin off in the environment. Checked in
headless Chromium (Playwright), against a control: the same JupyterLab started in an environment
where the plugin was not switched off shows the question, so the check can fail.

1. control: plain `python -m jupyterlab` in a fresh environment (tests/edition_env.py): the pop-up shows;
2. the student edition's `make lab` (after `make lab-plugins`), in the same kind of environment:
   no pop-up, and the page configuration lists the plugin (and nbgrader's instructor panels) as disabled;
3. the instructor's `make lab` (tests/labserver.py): no pop-up, the plugin disabled.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import CHROMIUM_ARGS, find_chromium
from edition_env import clean_env, install_kernel, make_overlay_env
from labserver import free_port, running_lab

from course_utils.instructor.edition import build_edition

pytestmark = pytest.mark.slow
NEWS = "notified about official Jupyter news"
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"



@contextlib.contextmanager
def started(cmd: list[str], cwd: Path, env: dict[str, str], log: Path, port: int, token: str) -> Iterator[str]:
    """Run a JupyterLab command line until it answers on ``port``; yields its URL; kills its process group."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as resp:
                    if resp.status == 200:
                        break
            if time.monotonic() > deadline:
                raise TimeoutError(f"JupyterLab did not answer:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _disabled(url: str, token: str) -> set[str]:
    with urllib.request.urlopen(f"{url}/lab?token={token}", timeout=30) as resp:
        page = resp.read().decode()
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    disabled = config.get("disabledExtensions", {})
    return set(disabled) if isinstance(disabled, (list, dict)) else set()


def _popup_seconds(page, url: str, token: str, wait_s: float) -> float | None:
    """Seconds after the file browser appeared until the news question showed; None if it did not within wait_s."""
    page.goto(f"{url}/lab?token={token}")
    page.wait_for_selector(".jp-DirListing-content", timeout=180_000)
    start = time.monotonic()
    try:
        page.get_by_text(NEWS).first.wait_for(state="visible", timeout=wait_s * 1000)
    except Exception:  # Playwright's TimeoutError
        return None
    return time.monotonic() - start


def test_make_lab_shows_no_news_popup(tmp_path_factory: pytest.TempPathFactory) -> None:
    executable = find_chromium()
    from playwright.sync_api import sync_playwright

    base = tmp_path_factory.mktemp("lab")
    build_edition(base / "published")
    clone = base / "clone"
    subprocess.run(["git", "clone", "-q", str(base / "published"), str(clone)], check=True)
    control_env, student_env = base / "control-env", base / "student-env"
    for env_dir in (control_env, student_env):
        install_kernel(make_overlay_env(env_dir, clone))
    root = "--allow-root" if os.getuid() == 0 else "--ServerApp.allow_root=False"

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=executable, headless=True,
                                                        args=CHROMIUM_ARGS, viewport={"width": 1300, "height": 900})
        try:
            page = context.new_page()
            page.set_default_timeout(120_000)
            # 1. the control: the question appears.
            port, token = free_port(), "control-token"
            cmd = [str(control_env / "bin" / "python"), "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
                   f"--ServerApp.root_dir={clone}", root]
            with started(cmd, clone, clean_env(), base / "control.log", port, token) as url:
                assert ANNOUNCEMENTS not in _disabled(url, token)
                shown_after = _popup_seconds(page, url, token, wait_s=120)
            assert shown_after is not None, "the control JupyterLab never asked about news: this check proves nothing"
            wait_s = max(15.0, 3 * shown_after + 10)

            # 2. the student edition's make lab.
            make_env = clean_env(PATH=os.environ.get("PATH", "/usr/bin:/bin"))
            subprocess.run(["make", "--no-print-directory", "lab-plugins", f"VENV={student_env}"], cwd=clone,
                           env=make_env, check=True, capture_output=True, timeout=300)
            port, token = free_port(), "student-token"
            cmd = ["make", "--no-print-directory", "lab", f"VENV={student_env}", "SETUP=0", f"PORT={port}",
                   f"TOKEN={token}", "BROWSER=0"]
            with started(cmd, clone, make_env, base / "student.log", port, token) as url:
                disabled = _disabled(url, token)
                assert {ANNOUNCEMENTS, "@jupyter/nbgrader:formgrader",
                        "@jupyter/nbgrader:create-assignment"} <= disabled, disabled
                assert _popup_seconds(page, url, token, wait_s) is None, "the edition's make lab asked about news"

            # 3. the instructor's make lab.
            with running_lab(base) as lab:
                assert ANNOUNCEMENTS in _disabled(lab.url, lab.token)
                assert _popup_seconds(page, lab.url, lab.token, wait_s) is None, "make lab asked about news"
        finally:
            context.close()
