"""The slides' forward-propagation network: inputs x1, x2, hidden h1, h2 (sigmoid), outputs o1, o2."""

from diagrams import Diagram


def draw() -> Diagram:
    d = Diagram(width=8.0, height=4.2)
    xs = {"x1": 3.1, "x2": 1.1}
    for name, y in xs.items():
        d.node(name, (1.0, y), f"${name[0]}_{name[1]}$", kind="input", size=(0.7, 0.5))
    for name, y in {"h1": 3.1, "h2": 1.1}.items():
        d.node(name, (3.9, y), rf"$h_{name[1]}$", kind="hidden", size=(0.7, 0.5))
    for name, y in {"o1": 3.1, "o2": 1.1}.items():
        d.node(name, (6.8, y), rf"$o_{name[1]}$", kind="output", size=(0.7, 0.5))
    # weights as in lecture 02: w1, w2 feed h1; w3, w4 feed h2; w5, w6 feed o1; w7, w8 feed o2
    d.arrow("x1", "h1", "$w_1$", label_pos=0.3)
    d.arrow("x2", "h1", "$w_2$", label_pos=0.25)
    d.arrow("x1", "h2", "$w_3$", label_pos=0.25)
    d.arrow("x2", "h2", "$w_4$", label_pos=0.3)
    d.arrow("h1", "o1", "$w_5$", label_pos=0.3)
    d.arrow("h2", "o1", "$w_6$", label_pos=0.25)
    d.arrow("h1", "o2", "$w_7$", label_pos=0.25)
    d.arrow("h2", "o2", "$w_8$", label_pos=0.3)
    d.note((3.9, 3.65), r"$b_{h1}$", fontsize=10)
    d.note((3.9, 0.55), r"$b_{h2}$", fontsize=10)
    d.note((6.8, 3.65), r"$b_{o1}$", fontsize=10)
    d.note((6.8, 0.55), r"$b_{o2}$", fontsize=10)
    d.note((1.0, 4.0), "inputs", fontsize=10)
    d.note((3.9, 4.0), "hidden layer, $g$ = sigmoid", fontsize=10)
    d.note((6.8, 4.0), "output layer", fontsize=10)
    d.note((3.9, 0.15), r"$in_{h1} = w_1 x_1 + w_2 x_2 + b_{h1}$,   $out_{h1} = g(in_{h1})$", fontsize=10)
    return d
