"""Start JupyterLab exactly as ``make lab`` does, on a free loopback port, and always stop it.

Used by tests/test_lab.py and the browser tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    url: str
    token: str
    process: subprocess.Popen
    log: Path

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, str]:
        """GET ``path`` with the token; returns (status, body)."""
        sep = "&" if "?" in path else "?"
        req = urllib.request.Request(f"{self.url}{path}{sep}token={self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")

    def get_json(self, path: str) -> object:
        status, body = self.get(path)
        if status != 200:
            raise AssertionError(f"GET {path} returned {status}: {body[:300]}")
        return json.loads(body)


@contextlib.contextmanager
def running_lab(log_dir: Path, startup_timeout: float = 90.0) -> Iterator[Lab]:
    """Run ``make lab`` with a fresh port and token; yield once it answers; kill its process group after."""
    port, token = free_port(), secrets.token_hex(16)
    log = log_dir / "lab.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "PYTEST_XDIST"))}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"PORT={port}", f"TOKEN={token}", "BROWSER=0"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )
    lab = Lab(f"http://127.0.0.1:{port}", token, process, log)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"make lab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if lab.get("/api/status", timeout=2)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"JupyterLab did not answer within {startup_timeout}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield lab
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
