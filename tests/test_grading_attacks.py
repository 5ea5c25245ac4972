"""The grading sandbox against a matrix of attack submissions.

Each test builds a throw-away copy of the course (see ``tests/attacks/course.py``),
submits an honest solution, a blank release and a group of attacks
(``tests/attacks/builders.py``), sanitizes the submissions, autogrades
everything with the sandboxed kernel exactly as ``make grade`` does, runs the
integrity review, and asserts for every attack:

* it earns no more than the blank submission, and every attempt it made to
  read, write, connect or exhaust was blocked (isolation points 1-4), or it is
  flagged with a reason (score forging, point 5);
* the honest student's files, grade and flags are untouched afterwards.

The outcome of every attack is printed (run with ``-s`` to see the table).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
from pathlib import Path

import pytest
from attacks.builders import Attack, attacks, by_point
from attacks.course import TEST_LIMITS, TEST_OVERRIDES, Course, ensure_kernel, make_course, require_sandbox

from course_utils.instructor import integrity

pytestmark = pytest.mark.slow  # grades whole courses of attack submissions in the sandbox: minutes

HONEST = "a_honest"
BLANK = "b_blank"
LAST = "z_honest_after"
UNGRADEABLE = ("sleep_forever", "output_burst")
ENV_SECRET = "grader-secret-7f3a9c"


@pytest.fixture(autouse=True)
def _sandbox_available() -> None:
    require_sandbox()
    ensure_kernel()


class Listener:
    """A TCP server on every address of the grader's machine that records connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                self.connections.append(conn.recv(64))
            except OSError:
                self.connections.append(b"")
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def host_address() -> str:
    """The machine's outward address (no packet is sent), or 127.0.0.1."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))
        return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        s.close()


def _processes_with(cmdline: str) -> list[str]:
    """Host pids whose NUL-separated command line contains ``cmdline``."""
    pids = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and cmdline.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            pass
    return pids


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grade_group(tmp_path: Path, point_names: list[str], *, verify: bool = False,
                only: tuple[str, ...] | None = None) -> dict:
    """Grade honest + blank + the attacks of ``point_names``; return everything the asserts need."""
    course = make_course(tmp_path, overrides=TEST_OVERRIDES)
    home = tmp_path / "instructor_home"
    home.mkdir()
    (home / "secret.txt").write_text("the instructor's private notes")
    listener = Listener()
    all_attacks = attacks(course=str(course.root), assignment=course.assignment, honest=HONEST,
                          home_secret=str(home / "secret.txt"), env_secret=ENV_SECRET,
                          port=listener.port, host_ip=host_address(),
                          answer_names=course.answer_functions())
    group: list[Attack] = [a for p in point_names for a in by_point(all_attacks, p)
                           if only is None or a.name in only]
    course.submit(HONEST, course.honest_notebook())
    course.submit(BLANK, course.release())
    course.submit(LAST, course.honest_notebook())  # graded after every attack: the grader carried on
    for attack in group:
        student = f"x_{attack.name}"
        if attack.whole_notebook_link:
            folder = course.submitted_dir(student)
            folder.mkdir(parents=True)
            (folder / f"{course.assignment}.ipynb").symlink_to(attack.whole_notebook_link)
        else:
            course.submit(student, course.attack_notebook(attack.code, everywhere=attack.everywhere),
                          symlinks=dict(attack.symlinks))
    honest_file = course.submitted_dir(HONEST) / f"{course.assignment}.ipynb"
    honest_hash = _sha(honest_file)

    sanitized = integrity.sanitize_submissions(course.root)
    env = {**TEST_LIMITS, "HOME": str(home), "GRADER_TOKEN": ENV_SECRET}
    try:
        run = course.autograde(kernel="rnn-course-sandbox", env=env, timeout=900)
    finally:
        listener.close()
    # the same call make grade makes after autograding (static scan + outside verdict)
    reviewed = integrity.review(course.root, [course.assignment], sanitized=sanitized,
                                verify="all" if verify else "none", env=env)
    flags = {student: reasons for (student, _), reasons in reviewed.items()}
    scores = course.scores()
    return {
        "course": course, "attacks": group, "run": run, "scores": scores, "flags": flags,
        "listener": listener, "honest_file": honest_file, "honest_hash": honest_hash,
    }


def _attack_lines(course: Course, student: str) -> list[str]:
    return [line for line in course.outputs_text(student).splitlines() if line.startswith("ATTACK ")]


def check_honest_untouched(result: dict) -> None:
    course: Course = result["course"]
    scores = result["scores"]
    assert scores.get(HONEST) == course.max_score(), (
        f"the honest solution should score {course.max_score()} in the sandbox, got {scores.get(HONEST)}\n"
        f"{result['run'].stderr[-3000:]}")
    assert scores.get(BLANK) == 0, f"a blank submission should score 0, got {scores.get(BLANK)}"
    assert result["honest_file"].exists() and _sha(result["honest_file"]) == result["honest_hash"], (
        "the honest student's submitted notebook changed during grading")
    assert course.autograded_path(HONEST).exists(), "the honest student's autograded notebook is gone"
    assert scores.get(LAST) == course.max_score(), (
        f"an honest submission graded after the attacks should score {course.max_score()}, got {scores.get(LAST)}")
    assert HONEST not in result["flags"], f"the honest solution was flagged: {result['flags'][HONEST]}"
    assert BLANK not in result["flags"], f"the blank release was flagged: {result['flags'][BLANK]}"
    with sqlite3.connect(course.gradebook) as con:
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert not (course.root / "grading" / "pwned.txt").exists()


def report(result: dict) -> list[dict]:
    """One row per attack: score, blocked/succeeded attempts, flags (printed for the closing note)."""
    course: Course = result["course"]
    rows = []
    for attack in result["attacks"]:
        student = f"x_{attack.name}"
        lines = _attack_lines(course, student)
        rows.append({
            "attack": attack.name, "point": attack.point, "score": result["scores"].get(student),
            "blank": result["scores"].get(BLANK), "max": course.max_score(),
            "blocked": [ln for ln in lines if ": blocked" in ln],
            "succeeded": [ln for ln in lines if "SUCCEEDED" in ln],
            "flags": result["flags"].get(student, []),
        })
    print("\nATTACK OUTCOMES", course.assignment)
    print(json.dumps(rows, indent=1))
    out_dir = os.environ.get("RNN_SANDBOX_REPORT_DIR")  # for the closing note: keep the table
    if out_dir:
        point = "-".join(sorted({r["point"] for r in rows})) + f"-{rows[0]['attack']}"
        Path(out_dir, f"attacks-{point}.json").write_text(json.dumps(rows, indent=1))
    return rows


def test_isolation_attacks_read_write_network(tmp_path: Path) -> None:
    """Points 1-3: nothing outside the submission can be read, changed or reached."""
    result = grade_group(tmp_path, ["read", "write", "network"])
    rows = report(result)
    check_honest_untouched(result)
    run = result["run"]
    assert run.returncode == 0 or "x_notebook_is_symlink" in run.stderr, run.stderr[-3000:]
    assert result["listener"].connections == [], (
        f"a submission reached a server on the grader's machine: {result['listener'].connections}")
    for row in rows:
        name = row["attack"]
        score = row["score"] if row["score"] is not None else 0.0
        assert score <= row["blank"], f"{name} earned {score} > blank {row['blank']}: {row}"
        assert not row["succeeded"], f"{name}: an attempt got through: {row['succeeded']}"
        if name == "notebook_is_symlink":
            assert any("symbolic link" in f for f in row["flags"]), row
            continue
        assert row["blocked"], f"{name}: no attempt was recorded (did the attack run?) {row}"
        if name == "symlink_to_solutions":
            assert any("symbolic link" in f for f in row["flags"]), row
    # the link never reached nbgrader's copy: no solution text in the attacker's autograded folder
    course: Course = result["course"]
    leaked = course.autograded_path("x_symlink_to_solutions").parent / "answers.json"
    assert not leaked.exists(), "nbgrader copied a symlinked solution into the autograded folder"


def test_resource_attacks(tmp_path: Path) -> None:
    """Point 4: memory, processes, disk, output and time are bounded; grading carries on."""
    result = grade_group(tmp_path, ["resources"])
    rows = report(result)
    check_honest_untouched(result)
    course: Course = result["course"]
    by_name = {row["attack"]: row for row in rows}
    for row in rows:
        score = row["score"] if row["score"] is not None else 0.0
        assert score <= row["blank"], f"{row['attack']} earned {score}: {row}"
        assert not row["succeeded"], f"{row['attack']}: {row['succeeded']}"
        if row["attack"] not in UNGRADEABLE:
            assert course.autograded_path(f"x_{row['attack']}").exists(), (
                f"{row['attack']}: the grader did not finish this submission")
    # A cell that never gives control back (ignores the interrupt, or its output buffer blew
    # up) ends in nbclient's "Timeout waiting for IOPub output"; nbgrader then records no
    # grade for that submission (also without the sandbox) and carries on: bounded either way.
    for name in UNGRADEABLE:
        assert by_name[name]["score"] in (None, 0.0), by_name[name]
    # the paced flood hit the relay's output cap: the kernel was killed, the notebook graded
    assert "KernelDied" in course.outputs_text("x_output_flood") or by_name["output_flood"]["score"] is None
    for name in ("fork_bomb", "memory_blowup", "disk_fill"):
        assert by_name[name]["blocked"], f"{name} did not run: {by_name[name]}"
    # nothing the disk-filler wrote reached the grader's disk
    filler = course.autograded_path("x_disk_fill").parent
    assert not list(filler.glob("fill_*.bin")), "files written in the sandbox reached the disk"
    # the output flood was cut off, in the notebook and in the grader's log
    flood_text = course.outputs_text("x_output_flood")
    assert len(flood_text) < 2_000_000, f"{len(flood_text)} characters of flood kept"
    assert len(result["run"].stderr) < 3_000_000, "the raw stderr flood reached the grader's log"
    # no process outlives its sandbox
    assert not _processes_with("sleep\x0031337"), "a detached process survived the sandbox"


# two halves, so that pytest-xdist can grade them side by side
HOOKS = ("input_transformer", "run_cell_patch", "ast_transformer", "custom_exc", "silence_kernel", "obfuscated")
PATCHES = ("patch_checks", "sys_modules", "patch_numpy", "builtins", "exit_kernel", "sys_exit", "lying_values")


@pytest.mark.parametrize("names", [HOOKS, PATCHES], ids=["kernel-hooks", "patching"])
def test_tampering_attacks_are_flagged(tmp_path: Path, names: tuple[str, ...]) -> None:
    """Point 5: forging a score inside the kernel earns nothing or is flagged, with the reason."""
    result = grade_group(tmp_path, ["tamper"], verify=True, only=names)
    assert {a.name for a in result["attacks"]} == set(names), "an attack of the matrix went missing"
    rows = report(result)
    check_honest_untouched(result)
    forged = []
    for row in rows:
        score = row["score"] if row["score"] is not None else 0.0
        if score > row["blank"]:
            forged.append(row["attack"])
            assert row["flags"], f"{row['attack']} forged {score} points and was NOT flagged: {row}"
        # every tampering attack is flagged, successful or not, with a reason naming the construct
        assert row["flags"], f"{row['attack']} was not flagged: {row}"
    # the second verdict (expected values never in the kernel) caught every forger on its own
    for name in forged:
        flags = " ".join(result["flags"][f"x_{name}"])
        assert "re-checked outside the kernel" in flags, f"{name}: the outside verdict missed it: {flags}"
    print("forged in plain nbgrader (caught by the flags):", forged)


# --- round two (issue 17): one grading run, one test per finding --------------------------------
ROUND2_OVERRIDES = """
# a small time budget, so that the slow-cells attack hits it quickly (the honest run needs ~20 s)
c.GradingExecute.assignment_budgets = {"01_forward_and_loss": 160}
# a rich-output cap below the test sandbox's 2 MiB relay limit, so that the cap (not the relay) acts
c.GradingExecute.max_rich_output_bytes = 256 * 1024
"""
FORGER = "y_plain_forger"  # a plain forger graded in the same run as the parser bomb


@pytest.fixture(scope="module")
def round2(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Honest, blank, a plain forger and issue 17's attacks, graded once as ``make grade`` does."""
    from attacks.builders import round_two

    from course_utils.instructor import autograde

    require_sandbox()
    ensure_kernel()
    tmp_path = tmp_path_factory.mktemp("round2")
    course = make_course(tmp_path, overrides=TEST_OVERRIDES + ROUND2_OVERRIDES)
    group = round_two(answer_names=course.answer_functions())
    course.submit(HONEST, course.honest_notebook())
    course.submit(BLANK, course.release())
    plain = next(a for a in attacks(course=str(course.root), assignment=course.assignment, honest=HONEST,
                                    home_secret="/nonexistent", env_secret=ENV_SECRET, port=1, host_ip="127.0.0.1",
                                    answer_names=course.answer_functions()) if a.name == "input_transformer")
    course.submit(FORGER, course.attack_notebook(plain.code))
    for attack in group:
        course.submit(f"x_{attack.name}", course.attack_notebook(attack.code, everywhere=attack.everywhere,
                                                                 last=attack.last, markdown=attack.markdown),
                      extra_files=dict(attack.extra_files))
    # malformed files end to end: nbgrader cannot grade them; they score 0 and the review carries on
    malformed = {"m_invalid_utf8": json.dumps(course.release()).encode().replace(b'"cells"', b'"cells\xff"', 1),
                 "m_nested_json": ('{"cells": [{"cell_type": "code", "metadata": ' + "[" * 50_000 + "]" * 50_000
                                   + ', "source": "x"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}').encode(),
                 "m_wrong_types": json.dumps({"cells": [3, None, {"cell_type": "code", "source": 7, "metadata": []}],
                                              "metadata": [], "nbformat": 4, "nbformat_minor": 5}).encode()}
    for student, raw in malformed.items():
        (course.submit(student) / f"{course.assignment}.ipynb").write_bytes(raw)
    sanitized = integrity.sanitize_submissions(course.root)
    env = dict(TEST_LIMITS)
    run = course.autograde(kernel="rnn-course-sandbox", env=env, timeout=1500)
    feedback = course.nbgrader("generate_feedback", course.assignment, "--force", env=env)
    reviewed = integrity.review(course.root, [course.assignment], sanitized=sanitized, verify="all", env=env)
    grades_csv = course.root / "grading" / "grades.csv"
    course.nbgrader("export", f"--to={grades_csv}")
    integrity.add_flag_column(grades_csv, reviewed)
    results = autograde.read_results(course.root, course.assignment)
    autograde._write_problems(course.root / "grading" / "problems.csv", {course.assignment: results},
                              reviewed.problems)
    return {"course": course, "attacks": group, "run": run, "feedback": feedback, "scores": course.scores(),
            "flags": {student: reasons for (student, _), reasons in reviewed.items()}, "reviewed": reviewed,
            "results": results, "grades_csv": grades_csv, "honest_file": course.submitted_dir(HONEST),
            "listener": None}


def _feedback_html(course: Course, student: str) -> str:
    path = course.root / "grading" / "feedback" / student / course.assignment / f"{course.assignment}.html"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_round2_honest_full_marks_unflagged(round2: dict) -> None:
    course: Course = round2["course"]
    assert round2["scores"].get(HONEST) == course.max_score(), round2["run"].stderr[-3000:]
    assert round2["scores"].get(BLANK) == 0
    assert HONEST not in round2["flags"] and BLANK not in round2["flags"], round2["flags"]
    assert not round2["results"][HONEST].problems, round2["results"][HONEST].problems


def test_f1_recheck_cannot_be_defeated_from_inside_the_kernel(round2: dict) -> None:
    """Finding 1: a forger with its own probe and the restored notebook's values is flagged by the re-check."""
    flags = " | ".join(round2["flags"].get("x_f1_recheck_defeat", []))
    course: Course = round2["course"]
    assert "notebooks in my folder: []" in course.outputs_text("x_f1_recheck_defeat"), (
        "the kernel's folder holds a notebook")
    assert "re-checked outside the kernel" in flags, f"the forger passed the re-check: {flags}"
    assert "%time" in flags or "get_ipython" in flags, f"the tamper inside %time was not scanned: {flags}"
    assert "pkgutil" in flags, f"the standard-library resolver was not flagged: {flags}"


def test_f2_submitted_files_cannot_shadow_the_course_modules(round2: dict) -> None:
    """Finding 2: .py files and packages next to the notebook are quarantined, with the reason."""
    student = "x_f2_shadow_modules"
    flags = " | ".join(round2["flags"].get(student, []))
    assert round2["scores"].get(student) == round2["scores"].get(BLANK) == 0, round2["scores"].get(student)
    assert "course_utils/" in flags and "numpy.py, which is not a notebook" in flags, flags
    assert "SUCCEEDED" not in round2["course"].outputs_text(student)


def test_f3_hidden_tests_never_reach_the_feedback(round2: dict) -> None:
    """Finding 3: no hidden test line in the autograded outputs or the feedback, however the student asks."""
    course: Course = round2["course"]
    hidden = ["np.random.default_rng(1).normal", "_tables = [dict(zip(_words", "_l = np.random.default_rng(6)"]
    secret = [c.source.split("### BEGIN HIDDEN TESTS", 1)[1] for c in course.source().cells
              if "### BEGIN HIDDEN TESTS" in c.source]
    assert all(any(f in part for part in secret) for f in hidden), "a fragment is no longer in the hidden tests"
    # the files and In/_ih; then linecache, the last error, the history database, _i and Out
    for student, ran in (("x_f3_leak_hidden", "ATTACK In:"), ("x_f3_leak_runtime", "ATTACK linecache:")):
        text, html = course.outputs_text(student), _feedback_html(course, student)
        assert ran in text and html, f"{student}: the leaking cell did not run, or no feedback was written"
        for fragment in hidden:
            assert fragment not in text, f"{student}: hidden test text in the autograded outputs: {fragment}"
            assert fragment not in html, f"{student}: hidden test text in the feedback: {fragment}"


def _live_script(html: str) -> list[str]:
    """What in ``html`` would run the attack's code: script elements, event handlers, javascript: links."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    found = [f"<script> {tag.get_text()[:80]!r}" for tag in soup.find_all("script") if "RNN_ATTACK" in tag.get_text()]
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if attr.lower().startswith("on") and "RNN_ATTACK" in text:
                found.append(f"<{tag.name} {attr}=...>")
            if attr.lower() in ("href", "src") and text.strip().lower().startswith("javascript:"):
                found.append(f"<{tag.name} {attr}={text[:40]!r}>")
    return found


def test_f4_no_student_script_in_feedback_or_formgrader_notebook(round2: dict) -> None:
    """Finding 4: the autograded notebook (the formgrader renders it) and the feedback carry no student script."""
    import nbformat as _nbformat
    from nbconvert import HTMLExporter

    course: Course = round2["course"]
    student = "x_f4_browser_script"
    html = _feedback_html(course, student)
    assert "rnn-attack-html" in html, "the attack's HTML output is missing from the feedback"
    assert _live_script(html) == [], f"the feedback runs student code: {_live_script(html)}"
    # the formgrader renders the autograded notebook with nbconvert's HTML exporter
    rendered, _ = HTMLExporter().from_notebook_node(_nbformat.read(course.autograded_path(student), as_version=4))
    assert _live_script(rendered) == [], f"the formgrader page would run student code: {_live_script(rendered)}"


def test_f5_one_malformed_submission_does_not_disable_the_review(round2: dict) -> None:
    """Finding 5: the parser bomb is flagged as not reviewable, the plain forger is flagged, grades.csv has
    the column."""
    import csv as _csv

    rows = list(_csv.DictReader(round2["grades_csv"].open(encoding="utf-8")))
    assert rows and "flagged" in rows[0], "grades.csv came out without its flagged column"
    by_student = {r["student_id"]: r["flagged"] for r in rows}
    assert "could not be scanned" in by_student.get("x_f5_parser_bomb", ""), by_student.get("x_f5_parser_bomb")
    assert by_student.get(FORGER), "the plain forger in the same run was exported unflagged"
    assert not by_student.get(HONEST), by_student.get(HONEST)
    for student in ("m_invalid_utf8", "m_nested_json", "m_wrong_types"):  # graded 0, still in the export
        assert round2["scores"].get(student) in (None, 0.0), (student, round2["scores"].get(student))
        assert not round2["results"][student].graded or round2["results"][student].score == 0


def test_f6_time_budget_and_output_caps_are_recorded(round2: dict) -> None:
    """Finding 6: the slow submission stops at its budget, the huge display is capped, both in problems.csv."""
    course: Course = round2["course"]
    problems = (course.root / "grading" / "problems.csv").read_text(encoding="utf-8")
    slow = [line for line in problems.splitlines() if "x_f6_slow_cells" in line]
    huge = [line for line in problems.splitlines() if "x_f6_huge_display" in line]
    assert slow and "time budget" in slow[0], problems
    assert huge and "cap" in huge[0], problems
    assert len(course.autograded_path("x_f6_huge_display").read_bytes()) < 2**20
    assert "capped by the grader" in _feedback_html(course, "x_f6_huge_display")
