"""The neural trigram model (N = 3) over the slides' sentence: two context words in, the next word out."""

from diagrams import Diagram

WORDS = ["The", "fluffy", "gray", "cat", "meowed", "very", "loudly"]


def draw() -> Diagram:
    d = Diagram(width=9.0, height=5.0)
    # the sentence, with the window (w_{i-2}, w_{i-1}) = (gray, cat) predicting w_i = meowed
    for k, word in enumerate(WORDS):
        x = 0.8 + 1.2 * k
        color = "#2e7d32" if word in ("gray", "cat") else ("#ef6c00" if word == "meowed" else "#90a4ae")
        d.note((x, 0.3), word, color=color, fontsize=12)
    d.frame((2.75, 0.05), (4.85, 0.55), None, color="#2e7d32")
    d.note((5.6, 0.75), r"predict $w_i$", color="#ef6c00", fontsize=10)
    d.node("u", (3.2, 1.25), r"$w_{i-2}$", kind="input")
    d.node("v", (4.4, 1.25), r"$w_{i-1}$", kind="input")
    d.node("eu", (3.2, 2.35), r"$e_{i-2}$", kind="hidden")
    d.node("ev", (4.4, 2.35), r"$e_{i-1}$", kind="hidden")
    d.node("f", (3.8, 3.4), r"$f = \tanh(H\,[e_{i-2}; e_{i-1}] + b)$", kind="hidden", size=(3.1, 0.5))
    d.node("y", (3.8, 4.45), r"$p(w_i \mid w_{i-2}, w_{i-1}) = \mathrm{softmax}(\theta f)$", kind="output",
           size=(3.9, 0.5))
    d.arrow("u", "eu", r"$E$", label_offset=(-0.25, 0))
    d.arrow("v", "ev", r"$E$", label_offset=(0.25, 0))
    d.arrow("eu", "f")
    d.arrow("ev", "f")
    d.arrow("f", "y", r"$\theta$", label_offset=(0.25, 0))
    d.note((6.4, 1.25), "1. the two previous words", ha="left", fontsize=10)
    d.note((6.4, 2.35), "2. embed: a row of $E$ each", ha="left", fontsize=10)
    d.note((6.4, 3.4), "3. combine (hidden layer $H$)", ha="left", fontsize=10)
    d.note((6.4, 4.45), "4. beliefs about the next word", ha="left", fontsize=10)
    return d
