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
    assert result["run"].returncode == 0 or "x_notebook_is_symlink" in result["run"].stderr, result["run"].stderr[-3000:]
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
    course: Course = result["course"]
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
