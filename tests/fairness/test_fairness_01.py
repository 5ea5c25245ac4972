"""Fairness of assignment 01_forward_and_loss: alternative correct answers earn full marks, subtly wrong ones lose.

The cases are in `cases/01_forward_and_loss.yaml`; how they are batched and graded is in `fairness_cases.py`.
"""

import pytest
from fairness_cases import suite

pytestmark = pytest.mark.slow

graded, test_case, test_model_answers_keep_full_marks, test_correct_answers_are_not_flagged = suite(
    "01_forward_and_loss")
