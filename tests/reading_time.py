"""How long each lecture takes to read: its core path and in full.

    .venv/bin/python tests/reading_time.py            # every lecture in lectures/
    .venv/bin/python tests/reading_time.py NB.ipynb   # some notebooks
    .venv/bin/python tests/reading_time.py --markdown # the README course map's minutes and optional parts

Rates (the course's reading budget): prose at 180 words a minute, code at 15 lines a minute.

- Prose: the words of the markdown cells. A word is a run of letters or digits; LaTeX commands
  (``\\sigma``), image links and HTML tags are not words; the text inside ``<details>`` (the
  answers to "check your understanding") counts, since a student reads it after trying.
- Code: the non-blank lines of the code cells. Outputs are not counted.

Core and optional. A lecture's core path is everything except its optional sections. An optional
section starts at a markdown cell whose first heading begins with ``Optional`` (for example
``## Optional: the slides' arithmetic audited``) and runs until the next heading of the same or a
higher level (fewer ``#``) that does not begin with ``Optional``; any cell tagged ``optional`` is
optional too. Optional sections go at the end of a lecture, after its summary.

The suite runs this (tests/test_lectures_reading_time.py) and fails when a lecture's core path
takes more than ``CORE_BUDGET_MIN`` minutes.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

WORDS_PER_MIN = 180
CODE_LINES_PER_MIN = 15
CORE_BUDGET_MIN = 30
OPTIONAL_TAG = "optional"
LECTURES = Path(__file__).resolve().parent.parent / "lectures"

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$", re.MULTILINE)
_STRIP = [re.compile(p) for p in (
    r"!\[[^\]]*\]\([^)]*\)",         # image links
    r"<[^>]+>",                      # HTML tags (their text stays)
    r"\\[A-Za-z]+",                  # LaTeX commands
    r"\]\([^)]*\)",                  # the target of a link (its text stays)
)]
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True)
class Reading:
    """Words and code lines of one notebook, split into core and optional, and the minutes."""

    name: str
    core_words: int
    core_code_lines: int
    optional_words: int
    optional_code_lines: int
    optional_sections: tuple[str, ...] = ()

    @staticmethod
    def minutes(words: int, code_lines: int) -> float:
        return words / WORDS_PER_MIN + code_lines / CODE_LINES_PER_MIN

    @property
    def core_min(self) -> float:
        return self.minutes(self.core_words, self.core_code_lines)

    @property
    def full_min(self) -> float:
        return self.minutes(self.core_words + self.optional_words,
                            self.core_code_lines + self.optional_code_lines)


def count_words(markdown: str) -> int:
    """Words of a markdown text (see the module docstring for what counts)."""
    for pattern in _STRIP:
        markdown = pattern.sub(" ", markdown)
    return len(_WORD.findall(markdown))


def count_code_lines(source: str) -> int:
    """Non-blank lines of a code cell."""
    return sum(1 for line in source.splitlines() if line.strip())


def measure(path: Path) -> Reading:
    """Read one notebook and count its core and optional words and code lines."""
    nb = nbformat.read(path, as_version=4)
    optional_level: int | None = None   # the heading level of the optional section we are in
    counts = {True: [0, 0], False: [0, 0]}   # optional? -> [words, code lines]
    sections: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for match in _HEADING.finditer(cell.source):
                level, title = len(match.group(1)), match.group(2).strip()
                if title.lower().startswith("optional"):
                    if optional_level is None or level <= optional_level:
                        optional_level = level
                    sections.append(re.sub(r"^optional\s*:?\s*", "", title, flags=re.I))
                elif optional_level is not None and level <= optional_level:
                    optional_level = None
                break   # the cell's first heading decides
        optional = optional_level is not None or OPTIONAL_TAG in cell.metadata.get("tags", [])
        if cell.cell_type == "markdown":
            counts[optional][0] += count_words(cell.source)
        elif cell.cell_type == "code":
            counts[optional][1] += count_code_lines(cell.source)
    return Reading(path.stem, counts[False][0], counts[False][1], counts[True][0], counts[True][1], tuple(sections))


def table(readings: list[Reading]) -> str:
    """The report printed by ``main``: one line a notebook."""
    lines = [f"{'notebook':34s} {'core min':>8s} {'full min':>8s}   core words/code lines   optional words/code lines"]
    for r in readings:
        lines.append(f"{r.name:34s} {r.core_min:8.1f} {r.full_min:8.1f}   {r.core_words:10d} / {r.core_code_lines:<4d}"
                     f"          {r.optional_words:8d} / {r.optional_code_lines}")
    lines.append(f"(prose {WORDS_PER_MIN} words/min, code {CODE_LINES_PER_MIN} lines/min; core budget "
                 f"{CORE_BUDGET_MIN} min)")
    return "\n".join(lines)


def markdown_rows(readings: list[Reading]) -> str:
    """The minutes and optional sections as README course-map cells: `| name | core | full | optional |`."""
    return "\n".join(f"| `{r.name}` | {round(r.core_min)} min | {round(r.full_min)} min | "
                     f"{'; '.join(r.optional_sections) or '—'} |" for r in readings)


def main(argv: list[str]) -> int:
    as_markdown = "--markdown" in argv
    argv = [a for a in argv if a != "--markdown"]
    paths = [Path(a) for a in argv] or sorted(LECTURES.glob("[0-9][0-9]_*.ipynb"))
    readings = [measure(p) for p in paths]
    print(markdown_rows(readings) if as_markdown else table(readings))
    over = [r.name for r in readings if r.core_min > CORE_BUDGET_MIN]
    if over:
        print(f"core path over {CORE_BUDGET_MIN} minutes: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
