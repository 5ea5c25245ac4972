"""The RNN cell as a box: h_{i-1} and w_i in, h_i out to the next step and to the prediction ŵ_{i+1}."""

from diagrams import Diagram


def draw() -> Diagram:
    d = Diagram(width=6.0, height=3.6)
    d.node("hp", (0.6, 1.6), r"$h_{i-1}$", kind="hidden", size=(0.8, 0.5))
    d.node("cell", (3.0, 1.6), "RNN cell", kind="plain", size=(1.6, 0.9))
    d.node("hn", (5.4, 1.6), r"$h_i$", kind="hidden", size=(0.8, 0.5))
    d.node("w", (3.0, 0.35), r"$w_i$", kind="input", size=(0.8, 0.45))
    d.node("y", (3.0, 3.05), r"$\hat w_{i+1}$", kind="output", size=(0.9, 0.5))
    d.arrow("hp", "cell", "previous state", label_offset=(0, 0.22), fontsize=9)
    d.arrow("cell", "hn", "to step $i+1$", label_offset=(0, 0.22), fontsize=9)
    d.arrow("w", "cell", "word $i$", label_offset=(0.45, 0), fontsize=9)
    d.arrow("cell", "y", "prediction", label_offset=(0.5, 0), fontsize=9)
    return d
