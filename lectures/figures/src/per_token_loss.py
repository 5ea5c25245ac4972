"""The per-token loss (lecture 04): at every step the model's distribution is read at the true next word.

The slides' tables, drawn as a graph: after reading BOS w_1 .. w_i the RNN gives a distribution over
the next word; the loss takes -log of the probability it gave the word that really came next, and
the sentence's loss is the mean of those terms.
"""

from diagrams import Diagram

INPUTS = ["BOS", "The", "fluffy", "gray", "cat", "meowed", "very", "loudly"]
TARGETS = INPUTS[1:] + ["EOS"]


def draw() -> Diagram:
    step = 1.25
    n = len(INPUTS)
    d = Diagram(width=1.0 + step * n, height=5.35)
    d.node("h0", (0.45, 1.5), r"$h_0$", kind="hidden", size=(0.55, 0.45))
    previous = "h0"
    for i, (word, target) in enumerate(zip(INPUTS, TARGETS), start=1):
        x = 0.45 + step * i - 0.2
        d.node(f"w{i}", (x, 0.5), word, kind="input", size=(1.0, 0.42), fontsize=10)
        d.node(f"h{i}", (x, 1.5), rf"$h_{i}$", kind="hidden", size=(0.7, 0.45))
        d.node(f"y{i}", (x, 2.5), rf"$p(\cdot \mid w_{{<{i}}})$", kind="output", size=(1.05, 0.45), fontsize=10)
        d.node(f"l{i}", (x, 3.55), rf"$-\log p(w_{i})$", kind="loss", size=(1.05, 0.45), fontsize=10)
        d.note((x, 4.05), f"“{target}”", fontsize=9)
        first = i == 1
        d.arrow(f"w{i}", f"h{i}", r"$U$" if first else None, label_offset=(0.2, 0))
        d.arrow(previous, f"h{i}", r"$W$" if first else None, label_offset=(0, 0.2))
        d.arrow(f"h{i}", f"y{i}", r"$S$" if first else None, label_offset=(0.2, 0))
        d.arrow(f"y{i}", f"l{i}", highlight=True)
        previous = f"h{i}"
    d.note((0.3, 4.95), r"loss $=$ the mean of the $N$ red terms $= -\frac{1}{N}\,\sum_i \log p(w_i \mid w_{<i})$",
           ha="left", fontsize=11, color="#c62828")
    d.note((0.3, 4.5), "each step's distribution over the next word is read at the word that really came next"
           " (in quotes), and only there", ha="left", fontsize=9)
    return d
