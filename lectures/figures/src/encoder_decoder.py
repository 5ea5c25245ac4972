"""The slides' encoder-decoder (lecture 09): the encoder's last state h_n is the decoder's first state s_0."""

from diagrams import Diagram

SOURCE = ["she", "is", "hungry", ".", "<eos>"]
TARGET_IN = ["<sos>", "elle", "a", "faim", "."]
TARGET_OUT = ["elle", "a", "faim", ".", "<eos>"]


def draw() -> Diagram:
    step = 1.05
    n, m = len(SOURCE), len(TARGET_IN)
    gap = 0.9
    width = 0.9 + step * (n + m) + gap
    d = Diagram(width=width, height=3.9)
    x0 = 0.75
    d.frame((0.25, 0.35), (x0 + step * (n - 1) + 0.5, 2.35), "encoder")
    for j, word in enumerate(SOURCE, start=1):
        x = x0 + step * (j - 1)
        d.node(f"w{j}", (x, 0.8), f"{word}", kind="input", size=(0.85, 0.42), fontsize=10)
        label = r"$h_n$" if j == n else rf"$h_{j}$"
        d.node(f"h{j}", (x, 1.75), label, kind="hidden", size=(0.7, 0.48))
        d.arrow(f"w{j}", f"h{j}", r"$U$" if j == 1 else None, label_offset=(0.2, 0))
        if j > 1:
            d.arrow(f"h{j - 1}", f"h{j}", r"$W$" if j == 2 else None, label_offset=(0, 0.2))
    xd = x0 + step * n + gap
    d.frame((xd - 0.5, 0.35), (xd + step * (m - 1) + 0.5, 3.65), "decoder")
    for t, (word_in, word_out) in enumerate(zip(TARGET_IN, TARGET_OUT), start=1):
        x = xd + step * (t - 1)
        d.node(f"y_in{t}", (x, 0.8), word_in, kind="input", size=(0.85, 0.42), fontsize=10)
        d.node(f"s{t}", (x, 1.75), rf"$s_{t}$", kind="hidden", size=(0.7, 0.48))
        d.node(f"y{t}", (x, 2.9), word_out, kind="output", size=(0.85, 0.42), fontsize=10)
        d.arrow(f"y_in{t}", f"s{t}")
        d.arrow(f"s{t}", f"y{t}", r"softmax" if t == 1 else None, label_offset=(0.38, 0), fontsize=9)
        if t > 1:
            d.arrow(f"s{t - 1}", f"s{t}")
            d.arrow(f"y{t - 1}", f"y_in{t}", dashed=True, bend=0.0)
    d.arrow(f"h{n}", "s1", r"$s_0 = h_n$", highlight=True, label_offset=(0, 0.25))
    d.note((xd + step * (m - 1) / 2, 0.12), "dashed: the next input is the previous word, the model's own or, with"
           " teacher forcing, the true one", fontsize=9)
    return d
