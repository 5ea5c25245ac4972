"""Inside the simple RNN cell: h_i = σ(W h_{i-1} + U w_i), ŵ_{i+1} = softmax(S h_i), with W, U, S labelled."""

from diagrams import Diagram


def draw() -> Diagram:
    d = Diagram(width=7.0, height=4.6)
    d.frame((1.55, 0.95), (5.3, 3.35), "simple RNN cell")
    d.node("hp", (0.6, 2.0), r"$h_{i-1}$", kind="hidden", size=(0.8, 0.5))
    d.node("w", (3.3, 0.4), r"$w_i$", kind="input", size=(0.8, 0.45))
    d.node("plus", (3.3, 2.0), "$+$", kind="op")
    d.node("sig", (4.4, 2.0), r"$\sigma$", kind="op")
    d.node("hn", (6.3, 2.0), r"$h_i$", kind="hidden", size=(0.8, 0.5))
    d.node("soft", (4.4, 2.85), "softmax", kind="plain", size=(1.0, 0.4), fontsize=10)
    d.node("y", (4.4, 4.05), r"$\hat w_{i+1}$", kind="output", size=(0.9, 0.5))
    d.arrow("hp", "plus", r"$W h_{i-1}$", label_pos=0.55, label_offset=(0, 0.24))
    d.arrow("w", "plus", r"$U w_i$", label_offset=(0.4, 0))
    d.arrow("plus", "sig")
    d.arrow("sig", "hn", r"$h_i$", label_pos=0.45, label_offset=(0, 0.22))
    d.arrow("sig", "soft", r"$S h_i$", label_offset=(0.38, 0))
    d.arrow("soft", "y")
    d.note((0.6, 4.25), r"$h_i = \sigma(W\,h_{i-1} + U\,w_i)$", ha="left")
    d.note((0.6, 3.85), r"$\hat w_{i+1} = \mathrm{softmax}(S\,h_i)$", ha="left")
    d.note((6.3, 1.5), "to step $i+1$", fontsize=9)
    return d
