"""The grades are right: for every assignment, graded by nbgrader in a temporary course copy,

* the model solution, submitted as a student, earns every autograded point;
* the blank release earns 0 on every autograded test, and is graded (no crash);
* for each question, a submission with only that answer wrong ("mutant") loses exactly that
  question's points and keeps all the others;
* the hidden tests of every graded cell run with the course's own implementation of that question
  switched off (``course_versions_unavailable``), for exactly the functions listed in
  ``COURSE_VERSIONS`` (the fairness suite, ``tests/fairness/``, grades answers that delegate to them);
* assignment 03's Q5 gives the same points to the same notebook graded twice in one run.

One ``nbgrader autograde`` call grades all submissions of an assignment.
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest

from course_utils.instructor.autograde import (
    COURSE_ROOT,
    SubmissionResult,
    assignment_ids,
    grade_submissions,
    make_course_copy,
    solution_submission,
)

ASSIGNMENTS = assignment_ids()

# question -> (answer cell, [(text in the solution, its wrong replacement), ...]).
# Each mutant is a plausible student mistake that breaks every part of its question.
MUTANTS: dict[str, dict[str, tuple[str, list[tuple[str, str]]]]] = {
    "01_forward_and_loss": {
        "q1": ("q1_sigmoid", [("out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))", "out[pos] = 1.0 / (1.0 + np.exp(z[pos]))"),
                              ("out[~pos] = ez / (1.0 + ez)", "out[~pos] = 1.0 / (1.0 + ez)")]),
        "q2": ("q2_forward", [("h = g(x @ W1.T + b1)", "h = g(x @ W1.T)")]),  # forgets the hidden bias
        "q3": ("q3_softmax", [("shifted = scores - np.max(scores, axis=-1, keepdims=True)", "shifted = scores"),
                              ("np.sum(e, axis=-1, keepdims=True)", "np.sum(e)")]),
        "q4": ("q4_token_losses", [("-np.log(table[word])", "np.log(table[word])")]),
        "q5": ("q5_perplexity", [("np.exp(np.mean(losses))", "np.exp(np.sum(losses))")]),
    },
    "02_bptt": {
        "q1": ("q1_step_forward", [("h = sigmoid(a)", "h = np.tanh(a)")]),
        "q2": ("q2_step_backward", [("da = dh * h * (1.0 - h)", "da = dh")]),  # forgets σ'
        "q3": ("q3_forward", [("rnn_step_forward(w_seq[:, t, :], h, W, U)",
                               "rnn_step_forward(w_seq[:, t, :], h0, W, U)")]),
        "q4": ("q4_backward", [("dh = dh_all[:, t, :] + dh_next", "dh = dh_all[:, t, :]")]),  # no gradient through time
        "q5": ("q5_gradcheck", [("x, dh_all)", "x, np.ones_like(dh_all))")]),  # numeric gradient of another loss
        "q6": ("q6_clip", [("return {name: g * scale for name, g in grads.items()}",  # clips each gradient on its own
                            "return {name: g * min(1.0, max_norm / np.sqrt(np.sum(g ** 2)))"
                            " for name, g in grads.items()}")]),
    },
    "03_pytorch_rnn": {
        "q1": ("q1_encode", [("vocab.stoi.get(ch, UNK_ID)", "vocab.stoi[ch]")]),
        "q2": ("q2_model", [("return self.S(h_last[-1])", "return h_last[-1]")]),
        "q3": ("q3_train_step", [("optimizer.zero_grad()", "pass  # forgot optimizer.zero_grad()")]),
        "q4": ("q4_predict", [("torch.softmax(model(x, torch.tensor([x.shape[1]])), dim=1)[0]",
                               "model(x, torch.tensor([x.shape[1]]))[0]")]),
        "q5": ("q5_fit", [("for _ in range(epochs):", "for _ in range(1):")]),
    },
    "04_seq2seq": {
        "q1": ("q1_encoder", [("packed_out, hidden = self.rnn(packed)", "outputs, hidden = self.rnn(emb)"),
                              ("outputs, _ = pad_packed_sequence(packed_out, batch_first=True, "
                               "total_length=src.shape[1])", "")]),
        "q2": ("q2_decoder", [("output, hidden = self.rnn(emb, hidden)", "output, _ = self.rnn(emb, hidden)")]),
        "q3": ("q3_teacher_forcing", [("token = tgt[:, t]", "token = logits.argmax(dim=-1)")]),
        "q4": ("q4_greedy", [("token = logits.argmax(dim=-1)", "pred = logits.argmax(dim=-1)"),
                             ("torch.full_like(token, PAD_ID), token)", "torch.full_like(pred, PAD_ID), pred)"),
                             ("finished |= token == EOS_ID", "finished |= pred == EOS_ID")]),
        "q5": ("q5_attention", [("torch.softmax(scores, dim=1)", "torch.softmax(scores, dim=0)")]),
    },
}


# Graded test cell -> the course's own implementations of what its question asks, switched off while its
# hidden tests run. Assignment 02 has none: the course's NumPy RNN step and BPTT live in lecture 05 only,
# and course_utils.gradcheck is the tool Q5 is meant to use, not an answer to it.
COURSE_VERSIONS: dict[str, dict[str, list[str]]] = {
    "01_forward_and_loss": {
        "q1_test_values": ["course_utils.widgets.forward.sigmoid"],
        "q1_test_stable": ["course_utils.widgets.forward.sigmoid"],
        "q2_test_hidden": ["course_utils.widgets.forward.forward_values"],
        "q2_test_output": ["course_utils.widgets.forward.forward_values"],
        "q3_test_values": ["course_utils.models.chargen.next_char_probs"],
        "q3_test_stable": ["course_utils.models.chargen.next_char_probs"],
        "q4_test_losses": ["course_utils.widgets.token_loss.token_loss_summary"],
        "q5_test_perplexity": ["course_utils.widgets.token_loss.token_loss_summary"],
    },
    "02_bptt": {},
    "03_pytorch_rnn": {
        "q1_test_encode": ["course_utils.data.Vocab.encode", "course_utils.models.charrnn.encode_names"],
        "q2_test_output": ["course_utils.models.charrnn.CharRNNClassifier"],
        "q2_test_padding": ["course_utils.models.charrnn.CharRNNClassifier"],
        "q3_test_train_step": ["course_utils.training.default_step", "course_utils.training.train",
                               "course_utils.models.charrnn.train_one_name"],
        "q4_test_predict": ["course_utils.models.charrnn.predict_topk", "course_utils.models.charrnn.predict_labels"],
        # Q5 switches them off in the visible part, around the training that the points come from
        "q5_test_fit": ["course_utils.models.charrnn.train_classifier", "course_utils.training.train"],
    },
    "04_seq2seq": {
        "q1_test_encoder": ["course_utils.models.seq2seq.EncoderRNN", "course_utils.models.seq2seq.LSTMEncoder"],
        "q2_test_decoder": ["course_utils.models.seq2seq.DecoderRNN", "course_utils.models.seq2seq.AttnDecoderRNN"],
        "q3_test_teacher_forcing": ["course_utils.models.seq2seq.Seq2Seq"],
        "q4_test_greedy": ["course_utils.models.decoding.greedy_decode", "course_utils.models.decoding.beam_search"],
        "q5_test_values": ["course_utils.models.seq2seq.BahdanauAttention"],
        "q5_test_mask": ["course_utils.models.seq2seq.BahdanauAttention"],
    },
}


# Questions that, as their prose says, use the student's earlier answers: 03 Q5 trains the student's own
# NameRNN (Q2) with their train_step (Q3) on names their encode_name (Q1) encoded.
USES_EARLIER_ANSWERS: dict[str, dict[str, tuple[str, ...]]] = {
    "03_pytorch_rnn": {"q1": ("q5",), "q2": ("q5",), "q3": ("q5",)},
}


def _cells(assignment: str) -> list:
    return nbformat.read(COURSE_ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4).cells


def _graded_cells(assignment: str) -> dict[str, dict]:
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in _cells(assignment)
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def _question(grade_id: str) -> str:
    return grade_id.split("_")[0]


def _mutant(assignment: str, question: str) -> nbformat.NotebookNode:
    cell_id, edits = MUTANTS[assignment][question]
    source = next(c.source for c in _cells(assignment)
                  if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == cell_id)
    source = "\n".join(line for line in source.split("\n")
                       if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    for old, new in edits:
        assert old in source, f"mutant {assignment}/{question}: {old!r} is not in the solution any more"
        source = source.replace(old, new)
    return solution_submission(assignment, overrides={cell_id: source})


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_intro_states_the_total_and_every_question_has_a_mutant(assignment):
    cells = _graded_cells(assignment)
    total = sum(m["points"] for m in cells.values())
    intro = _cells(assignment)[0].source
    assert re.search(rf"Points: {total:g} in total", intro), f"{assignment}: intro does not state the total {total:g}"
    auto_questions = {_question(g) for g, m in cells.items() if not m.get("solution")}
    assert auto_questions == set(MUTANTS[assignment]), "every autograded question needs a mutant"
    for gid, m in cells.items():
        assert re.fullmatch(r"q\d+_\w+", gid) and m["points"] > 0


@pytest.mark.slow  # grades every assignment and its mutants with nbgrader
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_marks_blank_zero_and_each_mutant_loses_its_question(assignment, tmp_path):
    course = make_course_copy(tmp_path / "course")
    release = nbformat.read(COURSE_ROOT / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    submissions = {"solution": solution_submission(assignment), "blank": release}
    if assignment == "03_pytorch_rnn":  # Q5 must not depend on the load: the same notebook graded twice
        submissions["solution-again"] = solution_submission(assignment)
    submissions.update({f"mutant-{q}": _mutant(assignment, q) for q in MUTANTS[assignment]})

    start = time.perf_counter()
    results = grade_submissions(course, assignment, submissions)
    seconds = time.perf_counter() - start
    print(f"\n{assignment}: {len(submissions)} submissions graded in {seconds:.0f} s "
          f"({seconds / len(submissions):.1f} s per submission)")

    cells = _graded_cells(assignment)
    manual = {g for g, m in cells.items() if m.get("solution")}
    auto_points = {g: float(m["points"]) for g, m in cells.items() if g not in manual}
    per_question: dict[str, float] = {}
    for g, p in auto_points.items():
        per_question[_question(g)] = per_question.get(_question(g), 0.0) + p

    solution = results["solution"]
    assert solution.graded and not solution.problems, solution.problems
    for g, points in auto_points.items():
        assert solution.cells[g].score == points, f"solution lost points on {g}:\n{solution.outputs(g)}"
    for g in manual:
        assert solution.cells[g].needs_manual_grade, f"{g} should wait for the instructor"

    if "solution-again" in results:
        again = results["solution-again"]
        assert again.cells["q5_test_fit"].score == solution.cells["q5_test_fit"].score == 3.0
        def accuracy_lines(result: SubmissionResult) -> list[str]:
            return [t for t in result.outputs("q5_test_fit").splitlines() if "validation accuracy" in t]

        assert accuracy_lines(solution) and accuracy_lines(solution) == accuracy_lines(again), (
            "the same notebook trained to a different accuracy")

    blank = results["blank"]
    assert blank.graded, blank.problems
    assert blank.score == 0
    for g in auto_points:
        # the stub's error: its NotImplementedError, a name it never defined, or 03's HPARAMS stub (all None)
        stub_error = r"(NotImplementedError|NameError|✗ HPARAMS has every setting)"
        assert re.search(stub_error, blank.outputs(g)), f"blank {g}: expected the stub's error"

    for q in MUTANTS[assignment]:
        result = results[f"mutant-{q}"]
        assert result.graded, result.problems
        got = result.question_scores()
        for question, points in per_question.items():
            if question in USES_EARLIER_ANSWERS.get(assignment, {}).get(q, ()):
                continue  # this question trains the student's own model, built from the mutated answer
            expected = 0.0 if question == q else points
            assert got[question] == expected, (
                f"mutant of {q}: {question} scored {got[question]}, expected {expected}\n"
                + "\n".join(f"{g}: {result.outputs(g)[-600:]}" for g in auto_points if _question(g) == question)
            )


def _switched_off(source: str) -> list[str]:
    """The paths of every ``with course_versions_unavailable(...)`` in a cell."""
    import ast

    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "course_versions_unavailable":
                    found += [ast.literal_eval(a) for a in call.args]
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_tests_switch_off_the_course_versions_of_every_question(assignment):
    from course_utils.checks import _functions_of

    expected = COURSE_VERSIONS[assignment]
    tests = {c.metadata["nbgrader"]["grade_id"]: c.source for c in _cells(assignment)
             if c.get("metadata", {}).get("nbgrader", {}).get("grade") and c.cell_type == "code"}
    assert set(expected) <= set(tests), (
        f"COURSE_VERSIONS names cells that are not test cells: {set(expected) - set(tests)}")
    for gid, source in tests.items():
        assert sorted(_switched_off(source)) == sorted(expected.get(gid, [])), (
            f"{assignment} {gid}: switches off {_switched_off(source)}, COURSE_VERSIONS says {expected.get(gid, [])}")
        for path in expected.get(gid, []):
            assert _functions_of(path), f"{path} has no Python functions to switch off"
        if gid != "q5_test_fit" and expected.get(gid):
            hidden = source.split("### BEGIN HIDDEN TESTS", 1)[1]
            assert hidden.lstrip("\n").startswith("with course_versions_unavailable("), (
                f"{assignment} {gid}: the whole hidden region must run with the course's versions switched off")


def _released_text(assignment: str) -> str:
    nb = nbformat.read(COURSE_ROOT / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells)


def test_02_students_derive_the_backward_step():
    """No backward formula in what students read (prose, hints); the numeric gradient is their feedback."""
    text = _released_text("02_bptt")
    for formula in ("h * (1 - h)", "h (1 − h)", "h * (1.0 - h)", "da @ U", "da @ W", "da.T @ h_prev", "da.T @ w"):
        assert formula not in text, f"assignment 02 gives away {formula!r}"
    assert "numeric_gradient_array(step_h" in text and "relative error to the numeric gradient" in text


def test_04_references_loss_and_rubric():
    text = _released_text("04_seq2seq")
    assert "lecture III" not in text and "lecture 09" in text
    assert "**averaged**" in text and "summed over the batch" not in text
    q6 = next(c for c in _cells("04_seq2seq")
              if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "q6_exposure_bias")
    assert "Rubric" in q6.source and "0.5" in q6.source, "the written answer needs a rubric with partial credit"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_answer_keys_are_in_the_instructor_version_only(assignment):
    keys = [c for c in _cells(assignment) if "instructor-notes" in c.get("metadata", {}).get("tags", [])]
    questions = next(c for c in _cells(assignment) if c.source.startswith("## Check your understanding"))
    assert keys and keys[0].source.count("\n* ") == questions.source.count("\n* "), "one answer per question"
    assert "Answer key" not in _released_text(assignment)
