"""The formgrader's Autograde button is the safe path too (course_utils.instructor.safepath).

The formgrader's autograde API handler calls ``NbGraderAPI.autograde(assignment,
student)`` in the Jupyter server, with the course's ``nbgrader_config.py`` and
no command-line options. These tests build that same API object on a course
copy and call it, with nothing in the environment choosing a kernel:

* the submission runs in the sandboxed kernel, and attacks from the matrix of
  tests/attacks/builders.py (one or more per threat point: read, write,
  network, resources, score forging) earn no more than a blank submission, or
  are flagged in the gradebook (the formgrader's flag) with the reason;
* where bubblewrap cannot run, grading refuses with the reason and how to opt
  out, and records no grade.

The whole matrix runs on ``make grade``'s path in test_grading_attacks.py and,
here, on the formgrader's path too: every attack, one Autograde press per
student. (A selection of ten used to run here; the whole matrix found that a
submitted link to solutions/ got through, because nbgrader copies a submission,
following its links, before any course code runs. RequireSandbox now quarantines
the submission and empties the kernel's folder of all but notebooks first.)
"""

from __future__ import annotations

import json

import pytest
from attacks.builders import attacks
from attacks.course import TEST_LIMITS, TEST_OVERRIDES, Course, ensure_kernel, make_course, require_sandbox

from course_utils.instructor import safepath
from course_utils.instructor.autograde import load_course_config

ENV_SECRET = "formgrader-secret-41c2"


def formgrader_api(course: Course):
    """The NbGraderAPI the formgrader builds from the course's configuration."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    cfg = load_course_config(course.root)["c"]
    return NbGraderAPI(CourseDirectory(config=cfg), config=cfg)


def flagged(course: Course) -> dict[str, bool]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.gradebook}") as gb:
        return {s.student.id: any(nb.flagged for nb in s.notebooks)
                for s in gb.assignment_submissions(course.assignment)}


@pytest.fixture
def clean_env(monkeypatch):
    for name in (safepath.KERNEL_ENV, safepath.UNSAFE_ENV, "RNN_INTEGRITY_VERIFY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in TEST_LIMITS.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_opt_out_is_explicit():
    assert not safepath.opted_out({})
    assert not safepath.opted_out({"COURSE_GRADING_KERNEL": "rnn-course-sandbox"})
    assert safepath.opted_out({"COURSE_GRADING_KERNEL": "rnn-course"})
    assert safepath.opted_out({"COURSE_GRADING_UNSAFE": "1"})
    assert not safepath.opted_out({"COURSE_GRADING_UNSAFE": "0"})
    assert safepath.default_grading_kernel({"COURSE_GRADING_UNSAFE": "1"}) == "rnn-course"
    assert safepath.default_grading_kernel({"COURSE_GRADING_KERNEL": "other"}) == "other"
    assert safepath.default_grading_kernel({}) == "rnn-course-sandbox"


def test_course_config_defaults_to_the_sandbox_and_the_review(clean_env):
    cfg = load_course_config()["c"]
    assert cfg.Execute.kernel_name == "rnn-course-sandbox"
    steps = cfg.Autograde.autograde_preprocessors
    assert steps[0] is safepath.RequireSandbox and steps[-1] is safepath.IntegrityReview


@pytest.mark.slow
def test_formgrader_refuses_without_bubblewrap(tmp_path, clean_env):
    course = make_course(tmp_path, toy=True, overrides=TEST_OVERRIDES)
    course.submit("a_honest", course.honest_notebook())
    import course_utils.instructor.sandbox as sandbox

    clean_env.setattr(sandbox, "sandbox_status", lambda: (False, "bubblewrap (bwrap) is not installed"))
    result = formgrader_api(course).autograde(course.assignment, "a_honest")
    text = result.get("log", "") + result.get("error", "")
    assert not result["success"], text
    assert "refusing to autograde a_honest" in text and "bubblewrap (bwrap) is not installed" in text, text
    assert "COURSE_GRADING_UNSAFE=1" in text
    assert course.scores().get("a_honest") is None  # no grade recorded


@pytest.mark.slow
def test_attack_matrix_on_the_formgrader_path(tmp_path, clean_env):
    require_sandbox()
    ensure_kernel()
    course = make_course(tmp_path, overrides=TEST_OVERRIDES)
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.txt").write_text("the instructor's notes")
    clean_env.setenv("GRADER_TOKEN", ENV_SECRET)
    clean_env.setenv("HOME", str(home))
    matrix = attacks(course=str(course.root), assignment=course.assignment, honest="a_honest",
                     home_secret=str(home / "secret.txt"), env_secret=ENV_SECRET, port=9,
                     host_ip="127.0.0.1", answer_names=course.answer_functions())
    chosen = list(matrix)
    assert len(chosen) >= 29 and {a.point for a in chosen} == {"read", "write", "network", "resources", "tamper"}
    course.submit("a_honest", course.honest_notebook())
    course.submit("b_blank", course.release())
    for attack in chosen:
        if attack.whole_notebook_link:
            continue  # a linked notebook is quarantined by make grade before nbgrader runs; nbgrader refuses links
        course.submit(f"x_{attack.name}", course.attack_notebook(attack.code, everywhere=attack.everywhere),
                      symlinks=dict(attack.symlinks))
    api = formgrader_api(course)
    for student in sorted(p.name for p in (course.root / "grading" / "submitted").iterdir()):
        api.autograde(course.assignment, student)  # one button press per student
    scores, flags = course.scores(), flagged(course)
    assert scores["a_honest"] == course.max_score() and not flags["a_honest"], (scores, flags)
    assert scores["b_blank"] == 0 and not flags["b_blank"]
    outcomes = {}
    for attack in chosen:
        student = f"x_{attack.name}"
        if attack.whole_notebook_link:
            continue
        score = scores.get(student) or 0.0
        text = course.outputs_text(student)
        outcomes[attack.name] = (score, flags.get(student), "SUCCEEDED" in text)
        assert "SUCCEEDED" not in text, f"{attack.name}: an attempt got through on the formgrader path"
        assert score <= scores["b_blank"] or flags.get(student), f"{attack.name} forged {score} unflagged"
        if attack.point == "tamper":
            assert flags.get(student), f"{attack.name} was not flagged on the formgrader path"
    print("formgrader path:", outcomes)
    assert not (course.root / "grading" / "pwned.txt").exists()
    report = json.loads((course.root / "grading" / "reports" / course.assignment / "x_patch_checks.json").read_text())
    assert report["flags"], report  # the reasons are kept for the instructor
