"""The image with one attention map per generated word (Show, Attend and Tell fig. 3)."""
import math
from pathlib import Path

import numpy as np
from PIL import Image


def plot_attention(image: Image.Image, caption, out: Path, size: int = 224) -> Path:
    import matplotlib
    matplotlib.use("Agg")   # no display needed
    import matplotlib.pyplot as plt

    if caption.alphas is None:
        raise ValueError("this model has no attention (the Show-and-Tell baseline); use the attention model")
    img = np.asarray(image.convert("RGB").resize((size, size), Image.BICUBIC))
    words = caption.words
    cols = min(5, len(words) + 1)
    rows = math.ceil((len(words) + 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].imshow(img)
    axes[0, 0].set_title("image")
    g = caption.grid
    for k, word in enumerate(words, start=1):
        ax = axes.flat[k]
        alpha = caption.alphas[k - 1].reshape(g, g).numpy()
        heat = np.asarray(Image.fromarray((alpha / alpha.max() * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR))
        ax.imshow(img)
        ax.imshow(heat, cmap="gray", alpha=0.6)
        ax.set_title(word)
    fig.suptitle(caption.text)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
