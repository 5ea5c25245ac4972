"""The slides' char-RNN classifier (lecture 06): one character at a time, a language after the last.

`combined = cat(input, hidden)` feeds `i2h` (the new hidden state, no sigma); `h2o` + LogSoftmax turn
the hidden state into a score per language. An output is computed at every step; only the last is used.
"""

from diagrams import Diagram

NAME = "Sato"


def draw() -> Diagram:
    step = 2.15
    d = Diagram(width=1.75 + step * len(NAME), height=4.6)
    d.node("h0", (0.5, 2.0), r"$h_0 = 0$", kind="hidden", size=(0.8, 0.45), fontsize=10)
    previous = "h0"
    last = len(NAME)
    for i, char in enumerate(NAME, start=1):
        x = 0.6 + step * i - 0.5
        d.node(f"w{i}", (x - 0.35, 0.45), f"“{char}”  one-hot", kind="input", size=(1.25, 0.42), fontsize=9)
        d.node(f"c{i}", (x, 1.2), rf"$[w_{i};\, h_{{{i - 1}}}]$", kind="plain", size=(1.05, 0.42), fontsize=10)
        d.node(f"h{i}", (x, 2.0), rf"$h_{i}$", kind="hidden", size=(0.6, 0.45))
        d.node(f"y{i}", (x, 3.0), r"$\hat y$", kind="output", size=(0.55, 0.42), fontsize=10)
        d.arrow(f"w{i}", f"c{i}", "cat" if i == 1 else None, label_offset=(-0.3, 0), fontsize=8)
        d.arrow(previous, f"c{i}", "cat" if i == 1 else None, label_offset=(0.05, 0.12), fontsize=8)
        d.arrow(f"c{i}", f"h{i}", "i2h" if i == 1 else None, label_offset=(0.28, 0), fontsize=8)
        d.arrow(f"h{i}", f"y{i}", "h2o, LogSoftmax" if i == 1 else None, label_offset=(0.62, 0), fontsize=8,
                highlight=i == last, dashed=i != last)
        previous = f"h{i}"
    x_last = 0.6 + step * last - 0.5
    d.node("lang", (x_last, 3.95), "Japanese", kind="loss", size=(1.15, 0.42), fontsize=10)
    d.arrow(f"y{last}", "lang", "argmax", label_offset=(-0.4, 0), fontsize=8, highlight=True)
    d.note((0.15, 4.2), r"$i2h([w_i; h_{i-1}]) = U w_i + W h_{i-1} + b$: the hidden update has no $\sigma$",
           ha="left", fontsize=10)
    d.note((0.15, 3.7), "dashed: computed at every step, only the last one is used", ha="left", fontsize=9)
    return d
