"""Fairness of assignment 04_seq2seq: alternative correct answers earn full marks, subtly wrong ones lose.

The cases are in `cases/04_seq2seq.yaml`; how they are batched and graded is in `fairness_cases.py`.
"""

import pytest
from fairness_cases import suite

pytestmark = pytest.mark.slow

graded, test_case, test_model_answers_keep_full_marks, test_correct_answers_are_not_flagged = suite("04_seq2seq")
