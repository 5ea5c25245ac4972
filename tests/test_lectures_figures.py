"""The lectures' diagrams are there, decode, and are what their sources draw.

- every image a lecture's markdown links to exists under lectures/figures/ and decodes as a
  non-trivial picture (SVG: an <svg> root with drawn paths; PNG: varied pixels);
- every figure source lectures/figures/src/<name>.py is rendered (lectures/figures/<name>.svg) and
  shown by at least one lecture, so removing a diagram from its lecture fails here;
- the slide figures of lectures 01-09 are each in their lecture;
- re-rendering a source gives the committed SVG byte for byte (run `make figures` after a change).
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
LECTURE_DIR = ROOT / "lectures"
FIGURES = LECTURE_DIR / "figures"
sys.path.insert(0, str(FIGURES))
import diagrams  # noqa: E402 (lectures/figures goes on sys.path first)

LECTURES = sorted(LECTURE_DIR.glob("[0-9][0-9]_*.ipynb"))
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(\s*([^)\s]+)|<img[^>]*\ssrc=[\"']([^\"']+)[\"']")

# The slide figures (issue 14) each lecture must show, and the pictures of lectures 04, 06 and 07.
REQUIRED = {
    "01_from_ngrams_to_rnns": ["neural_trigram", "unrolled_rnn"],
    "02_forward_propagation": ["forward_network"],
    "03_simple_rnn_cell": ["rnn_cell", "simple_cell", "multilayer_rnn"],
    "04_per_token_loss": ["per_token_loss"],
    "05_training_and_bptt": ["bptt_graph"],
    "06_char_rnn_classification": ["char_rnn_classifier"],
    "07_char_rnn_generation": ["char_rnn_generation"],
    "08_lstm_gru": ["lstm_cell", "gru_cell"],
    "09_seq2seq_translation": ["encoder_decoder", "attention"],
}


def image_links(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [a or b for cell in nb.cells if cell.cell_type == "markdown" for a, b in IMAGE_LINK.findall(cell.source)]


ALL_LINKS = {p.stem: image_links(p) for p in LECTURES}


def check_image(path: Path) -> None:
    assert path.is_file(), f"{path} is missing"
    if path.suffix == ".svg":
        root = ET.parse(path).getroot()
        assert root.tag.endswith("svg"), f"{path}: the root element is {root.tag}, not <svg>"
        drawn = [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] in {"path", "use", "rect", "circle", "text"}]
        assert len(drawn) >= 20, f"{path}: only {len(drawn)} drawn elements, not a real diagram"
    elif path.suffix == ".png":
        import matplotlib.image
        pixels = matplotlib.image.imread(path)
        assert min(pixels.shape[:2]) >= 50 and np.ptp(pixels) > 0.2, f"{path}: an empty or tiny picture"
    else:
        raise AssertionError(f"{path}: figures are .svg or .png")


@pytest.mark.parametrize("lecture", sorted(ALL_LINKS))
def test_every_linked_image_exists_and_decodes(lecture: str) -> None:
    for link in ALL_LINKS[lecture]:
        assert not re.match(r"[a-z]+:", link), f"{lecture}: {link} is not a relative link into lectures/figures/"
        target = (LECTURE_DIR / link).resolve()
        assert target.parent == FIGURES, f"{lecture}: {link} is outside lectures/figures/"
        check_image(target)


@pytest.mark.parametrize("lecture", sorted(REQUIRED))
def test_slide_figures_are_in_their_lecture(lecture: str) -> None:
    shown = {Path(link).stem for link in ALL_LINKS[lecture]}
    missing = [name for name in REQUIRED[lecture] if name not in shown]
    assert not missing, f"{lecture}.ipynb shows no {', '.join(missing)} diagram (figures/<name>.svg)"


@pytest.mark.parametrize("name", sorted(diagrams.sources()))
def test_every_figure_source_is_shown_by_a_lecture(name: str) -> None:
    shown = {Path(link).stem for links in ALL_LINKS.values() for link in links}
    assert name in shown, f"lectures/figures/src/{name}.py is drawn but no lecture links figures/{name}.svg"


@pytest.mark.parametrize("name", sorted(diagrams.sources()))
def test_committed_figure_matches_a_fresh_render(name: str, tmp_path: Path) -> None:
    fresh = diagrams.render(name, tmp_path)
    committed = FIGURES / f"{name}.svg"
    check_image(fresh)
    assert committed.is_file(), f"{committed} is missing: run `make figures`"
    assert committed.read_bytes() == fresh.read_bytes(), (
        f"{committed} is not what src/{name}.py draws: run `make figures`")


def test_diagram_errors_speak() -> None:
    d = diagrams.Diagram(2, 2)
    d.node("a", (0.5, 0.5), "a")
    with pytest.raises(ValueError, match="drawn twice"):
        d.node("a", (1, 1), "a")
    with pytest.raises(KeyError, match="no node named 'b'"):
        d.arrow("a", "b")
    with pytest.raises(ValueError, match="unknown node kind"):
        d.node("c", (1, 1), "c", kind="blob")
    import matplotlib.pyplot as plt
    plt.close(d.fig)
