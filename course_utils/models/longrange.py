"""Deprecated home of the long-range task; import it from :mod:`course_utils.data.longrange`.

Kept only while lecture 08 imports ``first_symbol_task``, ``n_tokens`` and ``chance_accuracy``
from here; they are the same functions.
"""

from course_utils.data.longrange import chance_accuracy, first_symbol_task, n_tokens

__all__ = ["chance_accuracy", "first_symbol_task", "n_tokens"]
