"""Which cells of a notebook are which, for the integrity review: one predicate, from nbgrader's own.

nbgrader decides what a cell is from its ``metadata["nbgrader"]`` flags
(:func:`nbgrader.utils.is_grade`, :func:`nbgrader.utils.is_solution`,
:func:`nbgrader.utils.is_locked`). The review reads notebooks that a student
produced, so every function here accepts anything (a dict from ``json.loads``,
a NotebookNode, a malformed cell with a list as metadata) and answers
``False``/``""`` instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader import utils as nbutils

__all__ = ["cell_source", "grade_id", "is_answer_cell", "is_locked_cell", "is_student_cell", "is_test_cell",
           "nbgrader_meta"]


def _node(cell: Any) -> NotebookNode | None:
    """``cell`` as a NotebookNode with a dict ``metadata``, or None when it is not a cell at all."""
    if not isinstance(cell, Mapping):
        return None
    meta = cell.get("metadata", {})
    if not isinstance(meta, Mapping) or not isinstance(meta.get("nbgrader", {}), Mapping):
        return None
    return cell if isinstance(cell, NotebookNode) else from_dict({"metadata": meta, **{
        k: v for k, v in cell.items() if k in ("cell_type", "source")}})


def nbgrader_meta(cell: Any) -> Mapping:
    """The cell's ``metadata["nbgrader"]`` (empty when absent or malformed)."""
    node = _node(cell)
    return node.metadata.get("nbgrader", {}) if node is not None else {}


def _is_code(cell: Any) -> bool:
    return isinstance(cell, Mapping) and cell.get("cell_type") == "code"


def is_test_cell(cell: Any) -> bool:
    """An autograded test cell: a code cell nbgrader grades (``grade``) that is not an answer (``solution``)."""
    node = _node(cell)
    return node is not None and _is_code(cell) and bool(nbutils.is_grade(node)) and not nbutils.is_solution(node)


def is_answer_cell(cell: Any) -> bool:
    """A cell the student answers in (``solution``), code or markdown."""
    node = _node(cell)
    return node is not None and bool(nbutils.is_solution(node))


def is_locked_cell(cell: Any) -> bool:
    """A cell nbgrader restores from the gradebook before running anything (locked, or a test cell)."""
    node = _node(cell)
    return node is not None and (bool(nbutils.is_locked(node)) or is_test_cell(cell))


def is_student_cell(cell: Any) -> bool:
    """A code cell whose source comes from the student: an answer cell or a cell the student added."""
    return _is_code(cell) and _node(cell) is not None and not is_locked_cell(cell)


def grade_id(cell: Any, index: int | None = None) -> str:
    """The cell's ``grade_id``, or ``"cell <index>"`` for a cell without one."""
    gid = nbgrader_meta(cell).get("grade_id")
    if isinstance(gid, str) and gid:
        return gid
    return f"cell {index}" if index is not None else ""


def cell_source(cell: Any) -> str:
    """The cell's source as one string (nbformat allows a list of lines); "" when it is not text."""
    source = cell.get("source", "") if isinstance(cell, Mapping) else ""
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""
