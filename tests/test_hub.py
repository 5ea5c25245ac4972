"""The class hub (make hub) on 127.0.0.1: real Unix users, nbgrader's exchange, the loop in a browser.

One hub for the whole session (the ``hub`` fixture): one instructor and three
students, created as Unix users under a temporary HUB_ROOT and removed again;
the finalizer stops the hub and checks that no process of it is left (hub,
proxy, single-user servers, kernels). Needs root (it creates users), the proxy
(``make test`` installs it where npm exists) and Debian's chromium for the
browser steps. Screenshots of every step go to tests/screenshots/hub_*.png,
the wall time of each step to tests/screenshots/hub_times.json.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_utils.instructor import hub as hubmod

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "screenshots"
AID = "01_forward_and_loss"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# The answer the browser student types into Q1 (2 of the assignment's 10 points); the rest stays open.
ANSWER = "def sigmoid(z):\n    z = np.asarray(z, dtype=float)\n    return np.exp(-np.logaddexp(0.0, -z))\n"
TIMES: dict[str, float] = {}


def _need(ok: bool, message: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _free_ports() -> int:
    """A port p with p, p+1 and p+2 free on 127.0.0.1 (the hub, its API, the proxy's API)."""
    for _ in range(200):
        p = random.randint(20000, 60000)
        try:
            socks = []
            for q in (p, p + 1, p + 2):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", q))
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no three consecutive free ports")


def _remove_accounts(settings: hubmod.HubSettings) -> None:
    for user in settings.users:
        subprocess.run(["userdel", "--remove", user], capture_output=True)
    for group in (settings.graders_group, settings.students_group):
        subprocess.run(["groupdel", group], capture_output=True)


# Module scope, not session: the hub (and its Playwright) stop when this file is done, so another
# browser test that xdist runs later on the same worker can start its own Playwright.
@pytest.fixture(scope="module")
def hub() -> Iterator[hubmod.HubSettings]:
    _need(os.geteuid() == 0, "the hub tests create Unix users: run them as root (CI does)")
    settings = hubmod.HubSettings(root=Path(tempfile.mkdtemp(prefix="rnn-hub-")), port=_free_ports(),
                                  instructor="rnnt-instructor", students=("rnnt-a", "rnnt-b", "rnnt-c"),
                                  graders_group="rnnt-graders", students_group="rnnt-students")
    os.chmod(settings.root, 0o755)
    try:
        hubmod._check_installed(settings)
    except hubmod.HubError as err:
        shutil.rmtree(settings.root, ignore_errors=True)
        _need(False, str(err))
    SHOTS.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        hubmod.start(settings)
        TIMES["hub start (setup, users, edition, hub up)"] = round(time.perf_counter() - t0, 1)
        yield settings
    finally:
        try:
            hubmod.stop(settings.root)
            left = hubmod.hub_processes(settings)
        finally:
            hubmod.revoke_environment(settings)
            _remove_accounts(settings)
            shutil.rmtree(settings.root, ignore_errors=True)
            (SHOTS / "hub_times.json").write_text(json.dumps(TIMES, indent=1) + "\n")
        assert not left, f"processes of the hub survived hub-stop: {left}"


def test_hub_serves_one_instructor_and_three_students(hub: hubmod.HubSettings) -> None:
    import urllib.request

    import jupyterhub

    with urllib.request.urlopen(f"{hub.url}/hub/api", timeout=10) as resp:
        assert json.load(resp)["version"] == jupyterhub.__version__
    graders = grp.getgrnam(hub.graders_group)
    for user in hub.users:
        entry = pwd.getpwnam(user)
        assert Path(entry.pw_dir) == hub.home(user) and (hub.home(user).stat().st_mode & 0o777) == 0o700
        assert (entry.pw_gid == graders.gr_gid) == (user == hub.instructor)
    inbound = hub.exchange / hub.course_id / "inbound"
    assert inbound.stat().st_mode & 0o7777 == 0o3733 and inbound.stat().st_gid == graders.gr_gid
    assert hub.course_dir.stat().st_mode & 0o777 == 0o770 and hub.course_dir.stat().st_gid == graders.gr_gid


# --- the browser loop ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser(hub: hubmod.HubSettings):  # Playwright's Browser
    _need(os.access(CHROMIUM, os.X_OK), f"no Chromium at {CHROMIUM}; install it with: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _login(browser, hub: hubmod.HubSettings, user: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(180_000)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=300_000)
    page.wait_for_selector("#jp-main-dock-panel", state="visible")
    return page


def _wait(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.3)


def _step(name: str, t0: float) -> None:
    TIMES[name] = round(time.perf_counter() - t0, 1)


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"hub_{name}.png"), full_page=True)


def _formgrader_action(page, selector: str, shot: str) -> str:
    """Click a formgrader button; wait for its result dialog; fail on an error dialog; close it."""
    page.click(selector)
    page.wait_for_selector("#success-modal, #error-modal", state="visible", timeout=600_000)
    _shot(page, shot)
    text = page.inner_text(".modal.in, .modal.show, .modal")
    assert page.query_selector("#error-modal") is None, f"the formgrader reported an error: {text}"
    page.click(".modal .close")
    page.wait_for_selector("#success-modal", state="detached")
    return text


def _assignment_list(page) -> None:
    page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
    page.click(".lm-Menu-itemLabel:text-is('Assignment List')")
    page.wait_for_selector("#released_assignments_list", state="visible")


def test_the_whole_loop_in_a_browser(hub: hubmod.HubSettings, browser) -> None:
    student = hub.students[0]
    fg = f"{hub.url}/user/{hub.instructor}/formgrader"

    # 1. The instructor logs in and releases assignment 01 from the formgrader, in its own tab:
    #    the hub's CSP (frame-ancestors 'none') blanks it inside JupyterLab's iframe.
    t0 = time.perf_counter()
    teacher = _login(browser, hub, hub.instructor)
    _step("instructor login + server spawn", t0)
    _shot(teacher, "01_instructor_lab")
    t0 = time.perf_counter()
    teacher.goto(f"{fg}/manage_assignments")
    row = f"tr:has(td.name:has-text('{AID}'))"
    teacher.wait_for_selector(row)
    # Generate puts the assignment into the gradebook (and refreshes the release folder), then Release.
    _formgrader_action(teacher, f"{row} td.assign a", "02_formgrader_generated")
    _formgrader_action(teacher, f"{row} td.release a", "02_formgrader_released")
    assert (hub.exchange / hub.course_id / "outbound" / AID / f"{AID}.ipynb").is_file()
    _step("release from the formgrader", t0)

    # 2. The student logs in, fetches 01 from the Assignments tab, answers Q1, validates, submits.
    t0 = time.perf_counter()
    page = _login(browser, hub, student)
    _step("student login + server spawn (edition cloned)", t0)
    assert (hub.home(student) / hubmod.EDITION_DIR_IN_HOME / ".git").is_dir()
    t0 = time.perf_counter()
    _assignment_list(page)
    page.click(f"#released_assignments_list .list_item:has-text('{AID}') button:has-text('Fetch')")
    page.wait_for_selector(f"#fetched_assignments_list .list_item:has-text('{AID}')")
    _shot(page, "03_student_fetched")
    _step("fetch from the Assignments tab", t0)
    t0 = time.perf_counter()
    links = page.locator(f"#fetched_assignments_list a:has-text('{AID}')")
    links.first.click()  # expands the assignment: one link per notebook appears below it
    _wait(lambda: links.count() >= 2, "the notebook link of the fetched assignment")
    links.last.click()
    panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
    page.wait_for_selector(f"{panel} .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=300_000)
    cell = page.locator(f"{panel} .jp-CodeCell:has-text('def sigmoid(z)')").first
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(ANSWER)
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    fetched = hub.home(student) / AID / f"{AID}.ipynb"
    _wait(lambda: "np.logaddexp(0.0, -z)" in fetched.read_text(errors="replace"),
          "the answer saved to the notebook file")
    _shot(page, "04_student_answered")
    page.locator(f"{panel} .jp-Toolbar").get_by_text("Validate").click()
    dialog = page.wait_for_selector(".jp-Dialog", state="visible", timeout=600_000)
    _shot(page, "05_student_validated")
    report = dialog.inner_text()
    assert "NotImplementedError" in report or "failed" in report.lower(), report[:500]
    page.click(".jp-Dialog button.jp-mod-accept, .jp-Dialog button:has-text('OK')")
    _step("answer + validate", t0)
    t0 = time.perf_counter()
    page.click(".jp-SideBar [title='Assignments'], .lm-TabBar-tab:has-text('Assignments')")
    page.click(f"#fetched_assignments_list .list_item:has-text('{AID}') button:has-text('Submit')")
    page.wait_for_selector(f"#submitted_assignments_list .list_item:has-text('{AID}')")
    _shot(page, "06_student_submitted")
    inbound = list((hub.exchange / hub.course_id / "inbound").iterdir())
    assert [p.name.split("+")[0] for p in inbound] == [student]
    _step("submit", t0)

    # 3. The instructor collects, autogrades (sandboxed kernel), generates and releases feedback.
    t0 = time.perf_counter()
    teacher.goto(f"{fg}/manage_assignments")
    teacher.wait_for_selector(f"{row} td.collect a")
    _formgrader_action(teacher, f"{row} td.collect a", "07_formgrader_collected")
    _step("collect", t0)
    t0 = time.perf_counter()
    teacher.goto(f"{fg}/manage_submissions/{AID}")
    srow = f"tr:has-text('{student}')"
    _formgrader_action(teacher, f"{srow} td.autograde a", "08_formgrader_autograded")
    _step("autograde (sandboxed)", t0)
    log = (hub.home(hub.instructor) / ".local").exists()  # the server ran as the instructor
    assert log
    t0 = time.perf_counter()
    teacher.goto(f"{fg}/manage_assignments")
    teacher.wait_for_selector(f"{row} td.generate-feedback a")
    _formgrader_action(teacher, f"{row} td.generate-feedback a", "09_formgrader_feedback")
    _formgrader_action(teacher, f"{row} td.release-feedback a", "10_formgrader_feedback_released")
    _step("generate + release feedback", t0)

    # 4. The student fetches the feedback and sees the score.
    t0 = time.perf_counter()
    page.reload()
    page.wait_for_selector("#jp-main-dock-panel", state="visible")
    _assignment_list(page)
    page.click(f"#submitted_assignments_list .list_item:has-text('{AID}') button:has-text('Fetch Feedback')")
    home = hub.home(student)
    deadline = time.monotonic() + 120
    while not list(home.glob(f"{AID}/feedback/*/{AID}.html")) and time.monotonic() < deadline:
        time.sleep(0.5)
    html = sorted(home.glob(f"{AID}/feedback/*/{AID}.html"))
    assert html, f"no feedback fetched into {home / AID / 'feedback'}"
    rel = html[-1].relative_to(home)
    page.goto(f"{hub.url}/user/{student}/files/{rel}")
    body = page.inner_text("body")
    _shot(page, "11_student_feedback")
    _step("fetch feedback + view", t0)
    assert "Score: 2.0 / 10.0" in body or ("2.0" in body and "10.0" in body), body[:800]


# --- the exchange between Unix users ------------------------------------------------------------
PROBE = r"""
import json, os, sys
results = {}
def attempt(name, fn):
    try:
        fn()
        results[name] = "allowed"
    except PermissionError:
        results[name] = "denied"
    except OSError as err:
        results[name] = f"error {err.errno}"
targets = json.loads(sys.argv[1])
attempt("list inbound", lambda: os.listdir(targets["inbound"]))
attempt("read B's submission", lambda: open(targets["b_file"]).read())
attempt("overwrite B's submission", lambda: open(targets["b_file"], "w").write("{}"))
attempt("add a file to B's submission", lambda: open(os.path.join(targets["b_dir"], "extra.ipynb"), "w").write("{}"))
attempt("rename B's submission", lambda: os.rename(targets["b_dir"], targets["b_dir"] + "-stolen"))
attempt("delete B's submission", lambda: os.unlink(targets["b_file"]))
attempt("list the course's submissions", lambda: os.listdir(targets["course_submitted"]))
attempt("read B's collected notebook", lambda: open(targets["course_b_file"]).read())
attempt("read the gradebook", lambda: open(targets["gradebook"], "rb").read())
attempt("read the solutions (course)", lambda: open(targets["course_solution"]).read())
attempt("read the solutions (repository)", lambda: open(targets["repo_solution"]).read())
attempt("list B's home", lambda: os.listdir(targets["b_home"]))
print(json.dumps(results))
"""


def _as_user(hub: hubmod.HubSettings, user: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the hub environment's python as ``user`` in their home, as their server would."""
    env_dir = hub.venv
    config = str(hub.student_config) if user in hub.students else str(hub.etc / "instructor-jupyter")
    cmd = ["runuser", "-u", user, "--", "env", "-i", f"HOME={hub.home(user)}", f"USER={user}", "LANG=C.UTF-8",
           f"PATH={env_dir / 'bin'}:/usr/bin:/bin", f"JUPYTER_CONFIG_PATH={config}",
           f"COURSE_EXCHANGE={hub.exchange}",
           str(env_dir / "bin" / "python"), *args]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=hub.home(user) if user in hub.students
                         else hub.course_dir, timeout=300)
    if check:
        assert res.returncode == 0, f"{' '.join(args)} as {user} failed:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res


def _ensure_released(hub: hubmod.HubSettings) -> None:
    """Assignment 01 in the exchange: the browser loop releases it; alone, these tests do (CLI)."""
    if not (hub.exchange / hub.course_id / "outbound" / AID).is_dir():
        _as_user(hub, hub.instructor, "-m", "nbgrader", "generate_assignment", AID, "--force")
        _as_user(hub, hub.instructor, "-m", "nbgrader", "release_assignment", AID)


def _submission_of(hub: hubmod.HubSettings, student: str) -> Path:
    found = sorted(p for p in (hub.exchange / hub.course_id / "inbound").iterdir() if p.name.startswith(f"{student}+"))
    assert found, f"no submission of {student} in the inbound"
    return found[-1]


def test_students_cannot_read_or_change_each_others_work(hub: hubmod.HubSettings) -> None:
    a, b, c = hub.students
    _ensure_released(hub)
    for student in (b, c):
        _as_user(hub, student, "-m", "nbgrader", "fetch_assignment", AID)
    _as_user(hub, b, "-m", "nbgrader", "submit", AID)
    # C submits with plain nbgrader's submit: what nbgrader #978/#1225 are about, for contrast.
    _as_user(hub, c, "-m", "nbgrader", "submit", AID,
             "--ExchangeFactory.submit=nbgrader.exchange.default.submit.ExchangeSubmit")
    _as_user(hub, hub.instructor, "-m", "nbgrader", "collect", AID, "--update")
    b_dir = _submission_of(hub, b)
    targets = {
        "inbound": str(hub.exchange / hub.course_id / "inbound"),
        "b_dir": str(b_dir), "b_file": str(b_dir / f"{AID}.ipynb"),
        "course_submitted": str(hub.course_dir / "grading" / "submitted"),
        "course_b_file": str(hub.course_dir / "grading" / "submitted" / b / AID / f"{AID}.ipynb"),
        "gradebook": str(hub.course_dir / "grading" / "gradebook.db"),
        "course_solution": str(hub.course_dir / "solutions" / AID / f"{AID}.ipynb"),
        "repo_solution": str(hub.repo / "solutions" / AID / f"{AID}.ipynb"),
        "b_home": str(hub.home(b)),
    }
    for name, path in targets.items():
        assert Path(path).exists(), f"{name}: {path} should exist for this test to mean anything"
    probe = _as_user(hub, a, "-c", PROBE, json.dumps(targets))
    results = json.loads(probe.stdout)
    assert results and set(results.values()) == {"denied"}, results
    # ...while the owner and the graders can: the check above is about who, not a broken file.
    own = _as_user(hub, b, "-c", f"print(len(open({targets['b_file']!r}).read()))")
    grader = _as_user(hub, hub.instructor, "-c", f"print(len(open({targets['b_file']!r}).read()))")
    assert int(own.stdout) == int(grader.stdout) > 1000
    # Plain nbgrader's submit leaves the submission world-readable: A reads C's once the name is known.
    c_file = _submission_of(hub, c) / f"{AID}.ipynb"
    plain = _as_user(hub, a, "-c", f"print(len(open({str(c_file)!r}).read()))", check=False)
    assert plain.returncode == 0 and int(plain.stdout) > 1000, "expected plain nbgrader to expose C's submission"
    assert (hub.course_dir / "grading" / "submitted" / b / AID / f"{AID}.ipynb").is_file()


def test_submitting_twice_keeps_the_latest_and_a_wrong_notebook_is_reported(hub: hubmod.HubSettings) -> None:
    """nbgrader's rules: submit warns of a missing notebook, collect --update takes the newest."""
    student = hub.students[2]
    _ensure_released(hub)
    _as_user(hub, student, "-m", "nbgrader", "fetch_assignment", AID, check=False)
    work = hub.home(student) / AID
    first = _as_user(hub, student, "-m", "nbgrader", "submit", AID)
    time.sleep(1.1)
    # the second time, the notebook is not the assignment's: renamed
    _as_user(hub, student, "-c", f"import os; os.rename({str(work / (AID + '.ipynb'))!r}, "
                                 f"{str(work / 'my_answers.ipynb')!r})")
    second = _as_user(hub, student, "-m", "nbgrader", "submit", AID)
    assert "Possible missing notebooks" in second.stderr + second.stdout and "EXTRA" in second.stderr + second.stdout
    assert first.returncode == second.returncode == 0
    _as_user(hub, hub.instructor, "-m", "nbgrader", "collect", AID, "--update")
    collected = hub.course_dir / "grading" / "submitted" / student / AID
    stamps = sorted(p.name.split("+")[2] for p in (hub.exchange / hub.course_id / "inbound").iterdir()
                    if p.name.startswith(f"{student}+"))
    assert len(stamps) >= 2
    assert (collected / "timestamp.txt").read_text().strip() == stamps[-1]
    assert (collected / "my_answers.ipynb").is_file() and not (collected / f"{AID}.ipynb").exists()
    # the instructor sees both submissions in the exchange, newest last
    listed = _as_user(hub, hub.instructor, "-m", "nbgrader", "list", "--inbound", AID)
    lines = [ln for ln in (listed.stdout + listed.stderr).splitlines() if student in ln and AID in ln]
    assert len(lines) >= 2, listed.stdout + listed.stderr


def test_missing_proxy_is_named_and_nothing_starts(tmp_path: Path) -> None:
    settings = hubmod.HubSettings(root=tmp_path / "hub", port=_free_ports(), proxy=tmp_path / "no-proxy",
                                  instructor="rnnt-nobody", students=())
    with pytest.raises(hubmod.HubError, match="apt-get install nodejs npm"):
        hubmod.start(settings)
    assert not (tmp_path / "hub").exists()  # it stopped before creating anything
    assert not hubmod.hub_processes(settings)
