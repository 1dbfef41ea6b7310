"""Charts drawn with matplotlib, with their text as truth: a title, axis labels and the
category names. They have no photo in them, so any photo caption on one is a false claim."""
import json
import random
from pathlib import Path

from benchmarks.screens.pages import WORDS


def make_chart(seed: int, out: Path, size=(1280, 800)) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rng = random.Random(seed)
    cats = [w.capitalize() for w in rng.sample(WORDS, rng.randint(4, 6))]
    title = f"{rng.choice(['Monthly', 'Yearly', 'Weekly'])} {rng.choice(WORDS)} {rng.choice(['sales', 'costs', 'visits'])}"
    ylabel = rng.choice(["Euros", "Visitors", "Hours"])
    fig = plt.figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    ax = fig.add_subplot()
    kind = rng.choice(["bar", "line"])
    values = [rng.randint(5, 95) for _ in cats]
    (ax.bar if kind == "bar" else ax.plot)(cats, values)
    ax.set_title(title, fontsize=20)
    ax.set_ylabel(ylabel, fontsize=14)
    ax.tick_params(labelsize=13)
    png = out / f"chart-{seed}.png"
    fig.savefig(png)
    plt.close(fig)
    truth = {"name": png.stem, "kind": "chart", "size": list(size), "lines": [title, ylabel, " ".join(cats)],
             "photos": [], "photo_files": []}
    (out / f"chart-{seed}.json").write_text(json.dumps(truth))
    return png
