"""The LSTM cell with its gates (lecture 08), in the equations' symbols.

The cell state runs along the top, highlighted: the direct path c_{t-1} -> c_t, whose derivative is
diag(f_t). The four gates read the same bus, W_* h_{t-1} + U_* w_t + b_*.
"""

from diagrams import Diagram


def draw() -> Diagram:
    d = Diagram(width=8.4, height=4.9)
    top, gates, bus = 4.0, 2.3, 1.25
    d.frame((1.15, 0.85), (7.0, 4.55), "LSTM cell")
    d.node("c_prev", (0.55, top), r"$c_{t-1}$", kind="hidden", size=(0.75, 0.5))
    d.node("mul_f", (2.0, top), r"$\times$", kind="op")
    d.node("add", (3.9, top), r"$+$", kind="op")
    d.node("c", (7.75, top), r"$c_t$", kind="hidden", size=(0.7, 0.5))
    d.arrow("c_prev", "mul_f", highlight=True)
    d.arrow("mul_f", "add", highlight=True)
    d.arrow("add", "c", highlight=True)

    d.node("f", (2.0, gates), r"$\sigma$", kind="gate", size=(0.62, 0.5))
    d.node("i", (3.0, gates), r"$\sigma$", kind="gate", size=(0.62, 0.5))
    d.node("g", (3.9, gates), r"$\tanh$", kind="gate", size=(0.7, 0.5))
    d.node("o", (5.2, gates), r"$\sigma$", kind="gate", size=(0.62, 0.5))
    d.node("mul_i", (3.9, 3.15), r"$\times$", kind="op")
    d.node("tanh_c", (6.3, 3.3), r"$\tanh$", kind="op", size=(0.62, 0.62), fontsize=10)
    d.node("mul_o", (6.3, gates), r"$\times$", kind="op")
    d.node("h", (7.75, bus), r"$h_t$", kind="hidden", size=(0.7, 0.5))

    d.arrow("f", "mul_f", r"$f_t$", label_offset=(0.22, 0))
    d.arrow("i", "mul_i", r"$i_t$", label_offset=(-0.15, 0.05))
    d.arrow("g", "mul_i", r"$g_t$", label_offset=(0.22, 0))
    d.arrow("mul_i", "add")
    d.arrow("add", "tanh_c", bend=-0.25)
    d.arrow("tanh_c", "mul_o")
    d.arrow("o", "mul_o", r"$o_t$", label_offset=(0, 0.2))
    d.arrow("mul_o", "h")

    # the bus every gate reads: h_{t-1} from the left, w_t from below
    d.node("h_prev", (0.55, bus), r"$h_{t-1}$", kind="hidden", size=(0.75, 0.5))
    d.node("w", (1.55, 0.35), r"$w_t$", kind="input", size=(0.6, 0.45))
    d.line((0.93, bus), (5.2, bus), arrow=False)
    d.line((1.55, 0.58), (1.55, bus), arrow=False)
    for x in (2.0, 3.0, 3.9, 5.2):
        d.line((x, bus), (x, gates - 0.25))
    d.note((3.55, 0.95), r"each gate: $W_\ast h_{t-1} + U_\ast w_t + b_\ast$, $\ast \in \{i, f, g, o\}$", fontsize=10)
    d.note((4.75, 0.35), r"$c_t = f_t \odot c_{t-1} + i_t \odot g_t$,   $h_t = o_t \odot \tanh(c_t)$", fontsize=10)
    return d
