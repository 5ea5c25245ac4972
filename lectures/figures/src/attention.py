"""Additive (Bahdanau) attention (lecture 09): the decoder state s_{t-1} scores every encoder state h_j."""

from diagrams import Diagram

SOURCE = ["she", "is", "hungry", ".", "<eos>"]


def draw() -> Diagram:
    step = 1.1
    n = len(SOURCE)
    d = Diagram(width=9.9, height=5.0)
    x0 = 0.7
    bus = 1.45
    for j, word in enumerate(SOURCE, start=1):
        x = x0 + step * (j - 1)
        d.note((x, 0.25), word, fontsize=10)
        d.node(f"h{j}", (x, 0.8), rf"$h_{j}$", kind="hidden", size=(0.62, 0.45))
        d.node(f"e{j}", (x + 0.1, 2.1), rf"$e_{{t{j}}}$", kind="plain", size=(0.7, 0.45), fontsize=11)
        d.line((x, 1.03), (x, 2.1 - 0.225))
        d.line((x + 0.25, bus), (x + 0.25, 2.1 - 0.225))
    d.note((x0 - 0.05, 1.65), r"$U h_j$", fontsize=9, ha="right")
    xq = x0 + step * n + 1.1
    d.node("s_prev", (xq, bus), r"$s_{t-1}$", kind="hidden", size=(0.7, 0.48))
    d.line((xq - 0.35, bus), (x0 + 0.25, bus), arrow=False)
    d.note((xq - 0.5, bus - 0.22), r"the query: $W s_{t-1}$", fontsize=9, ha="right")
    mid = x0 + 0.1 + step * (n - 1) / 2
    d.node("softmax", (mid, 3.15), r"$a_t = \mathrm{softmax}(e_t)$", kind="plain", size=(2.2, 0.48), fontsize=11)
    for j in range(1, n + 1):
        d.arrow(f"e{j}", "softmax")
    d.node("context", (xq, 3.15), r"$c_t = \sum_j a_{tj} h_j$", kind="plain", size=(1.7, 0.55), fontsize=11)
    d.arrow("softmax", "context", highlight=True)
    d.node("prev_word", (xq + 1.75, bus), r"$y_{t-1}$", kind="input", size=(0.7, 0.45))
    d.node("s", (xq + 1.75, 3.15), r"$s_t$", kind="hidden", size=(0.7, 0.48))
    d.node("y", (xq + 1.75, 4.3), r"$\hat y_t$", kind="output", size=(0.7, 0.45))
    d.arrow("context", "s")
    d.arrow("prev_word", "s", "GRU", label_offset=(0.3, 0), fontsize=9)
    d.arrow("s_prev", "s", dashed=True)
    d.arrow("s", "y")
    d.note((x0 - 0.3, 4.6), r"$e_{tj} = v^\top \tanh(W s_{t-1} + U h_j)$;  a padded position gets $e_{tj} = -\infty$",
           fontsize=10, ha="left")
    d.note((x0 - 0.3, 4.15), r"$a_{tj}$: how much the decoder looks at $h_j$ while writing word $t$",
           fontsize=10, ha="left")
    return d
