"""A two-layer simple RNN: layer 1's states are layer 2's inputs; only the top layer feeds S."""

from diagrams import Diagram


def draw() -> Diagram:
    steps = 3
    d = Diagram(width=8.2, height=5.0)
    for layer in (1, 2):
        d.node(f"h0_{layer}", (0.6, 0.9 + 1.3 * layer), rf"$h^{{({layer})}}_{{0}}$", kind="hidden", size=(0.8, 0.5))
    for i in range(1, steps + 1):
        x = 0.6 + 2.0 * i
        d.node(f"w{i}", (x, 0.6), rf"$w_{i}$", kind="input", size=(0.7, 0.45))
        for layer in (1, 2):
            d.node(f"h{i}_{layer}", (x, 0.9 + 1.3 * layer), rf"$h^{{({layer})}}_{{{i}}}$", kind="hidden",
                   size=(0.8, 0.5))
        d.node(f"y{i}", (x, 4.45), rf"$\hat w_{{{i + 1}}}$", kind="output", size=(0.7, 0.5))
        first = i == 1
        d.arrow(f"w{i}", f"h{i}_1", r"$U^{(1)}$" if first else None, label_offset=(0.33, 0))
        d.arrow(f"h{i}_1", f"h{i}_2", r"$U^{(2)}$" if first else None, label_offset=(0.33, 0))
        d.arrow(f"h{i}_2", f"y{i}", r"$S$" if first else None, label_offset=(0.22, 0))
        for layer in (1, 2):
            d.arrow(f"h{i - 1}_{layer}" if i > 1 else f"h0_{layer}", f"h{i}_{layer}",
                    rf"$W^{{({layer})}}$" if first else None, label_offset=(0, 0.22))
    d.note((7.6, 2.2), "layer 1", fontsize=10)
    d.note((7.6, 3.5), "layer 2", fontsize=10)
    return d
