"""Generation (lecture 07): predict, draw a character, feed it back in, stop at EOS.

The language c goes in at every step beside the character; the character drawn at step i is the
input of step i + 1 (the highlighted arrows), which is what turns a language model into a generator.
"""

from diagrams import Diagram

DRAWN = ["K", "i", "m", "EOS"]
INPUTS = ["SOS"] + DRAWN[:-1]


def draw() -> Diagram:
    step = 2.0
    n = len(INPUTS)
    d = Diagram(width=1.6 + step * n, height=4.7)
    d.node("h0", (0.4, 1.7), r"$h_0$", kind="hidden", size=(0.55, 0.45))
    previous = "h0"
    for i, (given, drawn) in enumerate(zip(INPUTS, DRAWN), start=1):
        x = 0.1 + step * i
        d.node(f"w{i}", (x - 0.38, 0.5), given, kind="input", size=(0.7, 0.42), fontsize=10)
        d.node(f"c{i}", (x + 0.38, 0.5), r"$c$", kind="param", size=(0.5, 0.42), fontsize=10)
        d.node(f"h{i}", (x, 1.7), rf"$h_{i}$", kind="hidden", size=(0.6, 0.45))
        d.node(f"p{i}", (x, 2.7), rf"$\hat w_{{{i + 1}}}$", kind="output", size=(0.7, 0.45))
        d.node(f"d{i}", (x + 0.75, 3.6), drawn, kind="plain", size=(0.75, 0.42), fontsize=10)
        d.arrow(f"w{i}", f"h{i}")
        d.arrow(f"c{i}", f"h{i}")
        d.arrow(previous, f"h{i}")
        d.arrow(f"h{i}", f"p{i}", "softmax" if i == 1 else None, label_offset=(-0.42, 0), fontsize=8)
        d.arrow(f"p{i}", f"d{i}", "draw" if i == 1 else None, label_offset=(-0.3, 0.05), fontsize=8)
        previous = f"h{i}"
    for i in range(1, n):
        d.arrow(f"d{i}", f"w{i + 1}", highlight=True, bend=0.3)
    d.note((0.1, 4.35), "predict, draw a character, feed it back in (red); stop when EOS is drawn",
           ha="left", fontsize=10, color="#c62828")
    d.note((0.1, 3.95), r"$c$: the language asked for (here Korean), the same at every step", ha="left", fontsize=9)
    return d
