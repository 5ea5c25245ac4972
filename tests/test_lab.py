"""`make lab` serves JupyterLab on localhost with the course kernel and the course's extensions."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from labserver import running_lab

pytestmark = pytest.mark.slow  # starts JupyterLab through make lab: tens of seconds


def test_make_lab_serves_the_course(tmp_path: Path) -> None:
    with running_lab(tmp_path) as lab:
        status, page = lab.get("/lab")
        assert status == 200, f"/lab returned {status}"
        # The page config embedded in /lab lists the prebuilt extensions that are active.
        config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                      page, re.S).group(1))
        extensions = {e["name"] for e in config.get("federated_extensions", [])}
        assert {"@jupyter/nbgrader", "@jupyter-widgets/jupyterlab-manager"} <= extensions, extensions
        # The landing page opens on lectures/: "/" redirects to /lab/tree/lectures.
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        try:
            urllib.request.build_opener(NoRedirect).open(f"{lab.url}/?token={lab.token}", timeout=10)
            raise AssertionError("/ did not redirect")
        except urllib.error.HTTPError as err:
            assert err.code in (301, 302, 303, 307), err.code
            assert err.headers["Location"].split("?")[0].endswith("/lab/tree/lectures"), err.headers["Location"]

        specs = lab.get_json("/api/kernelspecs")
        assert "rnn-course" in specs["kernelspecs"], sorted(specs["kernelspecs"])
        argv = specs["kernelspecs"]["rnn-course"]["spec"]["argv"]
        assert Path(argv[0]).parent.parent == Path(__file__).resolve().parent.parent / ".venv", argv

        # Bound to localhost only.
        assert "http://127.0.0.1:" in (lab.log.read_text()), "the server did not report a 127.0.0.1 URL"
        # nbgrader's formgrader works on a fresh clone: it creates the gradebook (which needs the
        # venv's `alembic` on PATH) and lists the course's assignments.
        listed = {a["name"] for a in lab.get_json("/formgrader/api/assignments")}
        expected = {p.name for p in (Path(__file__).resolve().parent.parent / "solutions").iterdir() if p.is_dir()}
        assert expected and expected <= listed, (expected, listed)

        # Without the token the API refuses.
        try:
            urllib.request.urlopen(f"{lab.url}/api/kernelspecs", timeout=5)
            raise AssertionError("the API answered without a token")
        except urllib.error.HTTPError as err:
            assert err.code == 403
        pgid = lab.process.pid
    # Stopped: the process group is gone.
    try:
        os.killpg(pgid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "make lab left processes behind"
