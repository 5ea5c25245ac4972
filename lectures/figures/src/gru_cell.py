"""The GRU cell with its gates (lecture 08), PyTorch's variant, in the equations' symbols.

The state runs along the top, highlighted: the path h_{t-1} -> h_t through z_t (diag(z_t)).
"""

from diagrams import Diagram


def draw() -> Diagram:
    d = Diagram(width=8.4, height=4.9)
    top, gates, bus = 4.0, 2.3, 1.25
    d.frame((1.15, 0.85), (7.0, 4.55), "GRU cell")
    d.node("h_prev", (0.55, top), r"$h_{t-1}$", kind="hidden", size=(0.75, 0.5))
    d.node("mul_z", (3.0, top), r"$\times$", kind="op")
    d.node("add", (6.0, top), r"$+$", kind="op")
    d.node("h", (7.75, top), r"$h_t$", kind="hidden", size=(0.7, 0.5))
    d.arrow("h_prev", "mul_z", highlight=True)
    d.arrow("mul_z", "add", highlight=True)
    d.arrow("add", "h", highlight=True)

    d.node("r", (2.0, gates), r"$\sigma$", kind="gate", size=(0.62, 0.5))
    d.node("z", (3.0, gates), r"$\sigma$", kind="gate", size=(0.62, 0.5))
    d.node("n", (5.0, gates), r"$\tanh$", kind="gate", size=(0.7, 0.5))
    d.node("one_minus", (4.0, 3.15), r"$1-$", kind="op", fontsize=10)
    d.node("mul_n", (5.0, 3.15), r"$\times$", kind="op")
    d.arrow("z", "mul_z", r"$z_t$", label_offset=(0.22, 0))
    d.arrow("z", "one_minus")
    d.arrow("one_minus", "mul_n")
    d.arrow("n", "mul_n", r"$n_t$", label_offset=(0.22, 0))
    d.arrow("mul_n", "add")
    d.arrow("r", "n", r"$r_t$", bend=0.3, label_pos=0.5, label_offset=(0, -0.5))

    d.node("w", (1.55, 0.35), r"$w_t$", kind="input", size=(0.6, 0.45))
    d.line((0.55, top - 0.25), (0.55, bus), arrow=False)
    d.line((0.55, bus), (5.0, bus), arrow=False)
    d.line((1.55, 0.58), (1.55, bus), arrow=False)
    for x in (2.0, 3.0, 5.0):
        d.line((x, bus), (x, gates - 0.25))
    d.note((3.75, 0.95), r"gates: $W_\ast h_{t-1} + U_\ast w_t + b$, $\ast \in \{r, z, n\}$; "
           r"$r_t$ scales $W_n h_{t-1} + b_{Wn}$", fontsize=10)
    d.note((4.75, 0.35), r"$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$", fontsize=10)
    return d
