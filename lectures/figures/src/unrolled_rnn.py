"""The recurrent language model unrolled over the slides' sentence (the slides' "classic view")."""

from diagrams import Diagram

WORDS = ["The", "fluffy", "gray", "cat", "meowed", "very", "loudly"]


def draw() -> Diagram:
    step = 1.3
    d = Diagram(width=1.3 + step * len(WORDS), height=3.6)
    d.node("h0", (0.55, 1.75), r"$h_0$", kind="hidden", size=(0.6, 0.5))
    previous = "h0"
    for i, word in enumerate(WORDS, start=1):
        x = 0.55 + step * i
        d.note((x, 0.2), f"“{word}”", fontsize=10)
        d.node(f"w{i}", (x, 0.75), rf"$w_{i}$", kind="input", size=(0.7, 0.45))
        d.node(f"h{i}", (x, 1.75), rf"$h_{i}$", kind="hidden", size=(0.7, 0.5))
        d.node(f"y{i}", (x, 2.85), rf"$\hat w_{{{i + 1}}}$", kind="output", size=(0.7, 0.5))
        first = i == 1
        d.arrow(f"w{i}", f"h{i}", r"$U$" if first else None, label_offset=(0.2, 0))
        d.arrow(previous, f"h{i}", r"$W$" if first else None, label_offset=(0, 0.2))
        d.arrow(f"h{i}", f"y{i}", r"$S$" if first else None, label_offset=(0.2, 0))
        previous = f"h{i}"
    d.note((0.55, 3.35), r"$h_i = \sigma(W\,h_{i-1} + U\,w_i)$,   $\hat w_{i+1} = \mathrm{softmax}(S\,h_i)$"
           r"   — the same $W$, $U$, $S$ at every step", ha="left")
    return d
