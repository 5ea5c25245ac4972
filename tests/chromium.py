"""Debian's Chromium for the browser tests: where it is, and the flags it runs with here.

Without the background-networking flags Chromium tries hosts this machine cannot reach. A test that
needs it skips when it is missing, and fails instead under CI (``.ci/run`` installs it).
"""

from __future__ import annotations

import os

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
INSTALL_HINT = "apt-get update && apt-get install -y chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def find_chromium() -> str:
    """The path of an executable Chromium; skips the test (fails it under CI) when there is none."""
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but no Chromium was found at {CHROMIUM_CANDIDATES}; install it: {INSTALL_HINT}")
    pytest.skip(f"no Chromium found at {CHROMIUM_CANDIDATES}; install it with: {INSTALL_HINT}")
