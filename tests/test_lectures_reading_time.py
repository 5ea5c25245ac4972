"""Every lecture's core path reads in at most 30 minutes, as tests/reading_time.py measures it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import reading_time

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_core_path_fits_the_budget(path: Path) -> None:
    r = reading_time.measure(path)
    assert r.core_min <= reading_time.CORE_BUDGET_MIN, (
        f"{path.name}: the core path reads in {r.core_min:.1f} min ({r.core_words} words, "
        f"{r.core_code_lines} code lines), over the {reading_time.CORE_BUDGET_MIN}-minute budget; move deeper "
        f"material into a section headed 'Optional: ...' at the end")


def test_counting_rules() -> None:
    # The cell h i W h i 1 bold
    assert reading_time.count_words(r"The cell $h_i = \sigma(W h_{i-1})$ ![a picture](figures/x.svg) <b>bold</b>") == 9
    assert reading_time.count_code_lines("x = 1\n\n   \ny = 2\n") == 2
    assert reading_time.Reading.minutes(180, 15) == pytest.approx(2.0)


def test_optional_sections_are_found_by_heading_and_tag(tmp_path: Path) -> None:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [md("# Title\none two three"), code("a = 1"),
                md("## Summary\nfour five"),
                md("## Optional: more\nsix seven eight"), code("b = 2\nc = 3"),
                md("### A subsection of the optional part\nnine"),
                md("## Optional: another\nten"),
                md("## Back in the core\neleven"), code("d = 4", metadata={"tags": ["optional"]})]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    r = reading_time.measure(tmp_path / "nb.ipynb")
    # core: "Title one two three" (4) + "Summary four five" (3) + "Back in the core eleven" (5); a = 1
    assert (r.core_words, r.core_code_lines) == (12, 1)
    # optional: "Optional more six seven eight" (5) + "A subsection of the optional part nine" (7)
    # + "Optional another ten" (3)
    assert (r.optional_words, r.optional_code_lines) == (15, 3)


@pytest.mark.slow  # the script reads every lecture in a subprocess
def test_the_script_prints_every_lecture() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "reading_time.py")], capture_output=True, text=True,
                         timeout=120)
    for path in LECTURES:
        assert path.stem in out.stdout


def test_readme_course_map_matches_the_script() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Course map" in readme, "the README opens with a course map"
    for path in LECTURES:
        r = reading_time.measure(path)
        rows = [line for line in readme.splitlines() if line.startswith("|") and f"`{path.stem}`" in line]
        assert rows, f"the README course map has no row for {path.stem}"
        cells = [c.strip() for c in rows[0].strip("|").split("|")]
        core, full, optional = cells[-3], cells[-2], cells[-1]
        expected = (f"{round(r.core_min)} min", f"{round(r.full_min)} min", "; ".join(r.optional_sections) or "—")
        assert (core, full, optional) == expected, (
            f"README course map row of {path.stem} says {core}, {full}, {optional!r}; the lecture measures "
            f"{expected}: update the row (tests/reading_time.py --markdown prints it)")
