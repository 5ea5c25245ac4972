"""The computation graph of BPTT around step i: the gradient reaches h_i by two paths."""

from diagrams import Diagram


def draw() -> Diagram:
    d = Diagram(width=9.0, height=4.8)
    xs = {"i-1": 1.4, "i": 4.4, "i+1": 7.4}
    for k, x in xs.items():
        d.node(f"w{k}", (x, 0.7), rf"$w_{{{k}}}$", kind="input", size=(0.8, 0.45))
        d.node(f"h{k}", (x, 2.1), rf"$h_{{{k}}}$", kind="hidden", size=(0.8, 0.5))
        d.node(f"y{k}", (x, 3.2), {"i-1": r"$\hat w_{i}$", "i": r"$\hat w_{i+1}$", "i+1": r"$\hat w_{i+2}$"}[k],
               kind="output", size=(0.9, 0.5))
        d.node(f"l{k}", (x, 4.2), rf"$\ell_{{{k}}}$", kind="loss", size=(0.6, 0.45))
        d.arrow(f"w{k}", f"h{k}", r"$U$", label_offset=(0.22, 0))
        d.arrow(f"h{k}", f"y{k}", r"$S$", label_offset=(-0.22, 0), highlight=(k == "i"))
        d.arrow(f"y{k}", f"l{k}", highlight=(k == "i"))
    d.node("hstart", (0.2, 2.1), r"$\cdots$", kind="plain", size=(0.35, 0.35))
    d.arrow("hstart", "hi-1", r"$W$", label_offset=(0, 0.2))
    d.arrow("hi-1", "hi", r"$W$", label_offset=(0, 0.2))
    d.arrow("hi", "hi+1", r"$W$", label_offset=(0, 0.2), highlight=True)
    d.note((4.75, 2.65), "path 1: own prediction", color="#c62828", fontsize=9, ha="left")
    d.note((6.0, 1.75), r"path 2: through $h_{i+1}$", color="#c62828", fontsize=9)
    d.note((0.1, 0.12), r"$\partial L/\partial h_i = S^\top(\hat w_{i+1} - \mathbf{1}_{w_{i+1}})$"
           r"$\;+\; W^\top(\sigma'(a_{i+1}) \odot \partial L/\partial h_{i+1})$   (path 1 + path 2)",
           ha="left", fontsize=10, color="#c62828")
    return d
