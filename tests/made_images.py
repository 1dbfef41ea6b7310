"""Images no camera took, made from a seed, for the tests and benchmarks/unfamiliar.py:
gradients, noise, blurred noise, flat shapes, stripes and checks, plasma, a fractal and
Voronoi cells. Each family varies its colours, scale and layout with the seed, so a
check does not hang on one picture. Nothing here is used to choose a threshold."""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = (640, 480)


def _colour(rng) -> np.ndarray:
    return rng.integers(0, 256, 3).astype(float)


def _grid(size):
    w, h = size
    return np.mgrid[0:h, 0:w].astype(float)


def _blend(a, b, t) -> Image.Image:
    return Image.fromarray((a + (b - a) * t[..., None]).clip(0, 255).astype(np.uint8))


def linear_gradient(rng, size=SIZE):
    yy, xx = _grid(size)
    angle = rng.uniform(0, np.pi)
    t = xx * np.cos(angle) + yy * np.sin(angle)
    return _blend(_colour(rng), _colour(rng), (t - t.min()) / np.ptp(t))


def radial_gradient(rng, size=SIZE):
    yy, xx = _grid(size)
    t = np.hypot(xx - rng.uniform(0, size[0]), yy - rng.uniform(0, size[1]))
    return _blend(_colour(rng), _colour(rng), t / t.max())


def noise(rng, size=SIZE):
    w, h = size
    if rng.random() < 0.5:
        return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    grey = rng.normal(128, rng.uniform(20, 80), (h, w)).clip(0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def clouds(rng, size=SIZE):
    w, h = size
    cells = Image.fromarray(rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8))
    return cells.resize(size, Image.BICUBIC).filter(ImageFilter.GaussianBlur(rng.uniform(2, 12)))


def shapes(rng, size=SIZE):
    image = Image.new("RGB", size, tuple(int(v) for v in _colour(rng)))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(3, 15)):
        x, y = rng.integers(0, size[0]), rng.integers(0, size[1])
        box = (x, y, x + rng.integers(20, 300), y + rng.integers(20, 300))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=tuple(int(v) for v in _colour(rng)))
    return image


def stripes(rng, size=SIZE):
    yy, xx = _grid(size)
    period = rng.integers(8, 80)
    if rng.random() < 0.5:
        on = (xx // period + yy // period) % 2
    else:
        angle = rng.uniform(0, np.pi)
        on = (xx * np.cos(angle) + yy * np.sin(angle)) // period % 2
    return _blend(_colour(rng), _colour(rng), on)


def plasma(rng, size=SIZE):
    yy, xx = _grid(size)
    t = sum(np.sin(xx * rng.uniform(0.005, 0.05) + yy * rng.uniform(0.005, 0.05) + rng.uniform(0, 6))
            for _ in range(4))
    t = (t - t.min()) / np.ptp(t)
    return Image.fromarray(np.stack([(np.sin(2 * np.pi * (t + s)) * 127 + 128)
                                     for s in rng.uniform(0, 1, 3)], -1).astype(np.uint8))


def fractal(rng, size=SIZE):
    w, h = size
    cx, cy, span = -0.745 + rng.uniform(-0.05, 0.05), 0.11 + rng.uniform(-0.05, 0.05), rng.uniform(0.01, 0.5)
    c = (np.linspace(cx - span, cx + span, w)[None, :] + 1j * np.linspace(cy - span * h / w, cy + span * h / w, h)[:, None])
    z, escaped = np.zeros_like(c), np.zeros(c.shape)
    for i in range(60):
        z = np.where(escaped == 0, z * z + c, z)
        escaped[(np.abs(z) > 2) & (escaped == 0)] = i
    return _blend(_colour(rng), _colour(rng), escaped / 60)


def cells(rng, size=SIZE):
    from scipy.spatial import cKDTree
    yy, xx = _grid(size)
    seeds = rng.uniform(0, 1, (int(rng.integers(8, 60)), 2)) * size
    _, nearest = cKDTree(seeds).query(np.c_[xx.ravel(), yy.ravel()])
    palette = rng.integers(0, 256, (len(seeds), 3), dtype=np.uint8)
    return Image.fromarray(palette[nearest].reshape(size[1], size[0], 3))


FAMILIES = {"linear gradient": linear_gradient, "radial gradient": radial_gradient, "noise": noise,
            "blurred noise": clouds, "flat shapes": shapes, "stripes and checks": stripes, "plasma": plasma,
            "fractal": fractal, "Voronoi cells": cells}


def made(family: str, seed: int, size=SIZE) -> Image.Image:
    return FAMILIES[family](np.random.default_rng(seed), size)


LETTER = ("Dear neighbours,", "", "The water will be turned off on", "Tuesday from nine until noon",
          "while the pipes in the basement", "are replaced. Please keep a few", "bottles of water at home.", "",
          "Thank you,", "The building manager")


def photographed_letter(seed: int) -> Image.Image:
    """A phone's photo of a printed letter on a table: a little turned, blurred, noisy, saved as JPEG."""
    from io import BytesIO

    from PIL import ImageFont
    rng = np.random.default_rng(seed)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", int(rng.integers(26, 32)))
    page = Image.new("RGB", (1000, 1300), tuple(int(v) for v in rng.integers(235, 256, 3)))
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(LETTER):
        draw.text((80, 100 + 60 * i), line, fill=(30, 30, 30), font=font)
    wood = np.array([120, 80, 50]) + rng.integers(-30, 30, 3)
    table = Image.fromarray((rng.normal(0, 1, (1600, 1300, 3)).cumsum(1) * 2 + wood).clip(0, 255).astype(np.uint8))
    table = table.filter(ImageFilter.GaussianBlur(2))
    angle = rng.uniform(-4, 4)
    turned = page.rotate(angle, expand=True, fillcolor=(0, 0, 0))
    table.paste(turned, (60, 60), Image.new("L", page.size, 255).rotate(angle, expand=True))
    shot = np.asarray(table.filter(ImageFilter.GaussianBlur(1.2))).astype(float) + rng.normal(0, 6, (1600, 1300, 3))
    out = BytesIO()
    Image.fromarray(shot.clip(0, 255).astype(np.uint8)).save(out, "JPEG", quality=85)
    return Image.open(out)
