"""Photographs of printed pages, made: seeded text set on paper, then what a phone camera does to it. The light
falls off across the page, the page sits a little askew on a table, and the picture is softened, noisy and
JPEG-compressed. Each comes with its text as truth. Shown in a window, such a photo must be read, not captioned."""
import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from benchmarks.screens.pages import _sentence

FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]
TABLES = [(120, 84, 52), (90, 90, 96), (160, 150, 135), (60, 48, 40)]


def photographed_page(seed: int) -> tuple[Image.Image, list[str]]:
    """(an RGB photo of a page, its lines of text in reading order)."""
    rng = random.Random(seed)
    font = ImageFont.truetype(rng.choice(FONTS), rng.randint(18, 24))
    lines = [_sentence(rng, rng.randint(4, 6)) for _ in range(rng.randint(5, 9))]
    step = int(font.size * 1.6)
    paper = Image.new("L", (int(max(font.getlength(l) for l in lines) + 3 * font.size), step * (len(lines) + 2)),
                      rng.randint(225, 248))
    draw = ImageDraw.Draw(paper)
    for i, line in enumerate(lines):
        draw.text((int(font.size * 1.5), step + i * step), line, font=font, fill=rng.randint(20, 60))
    paper = paper.rotate(rng.uniform(-2.5, 2.5), resample=Image.BICUBIC, expand=True, fillcolor=0)
    # The page on a table: the rotation's empty corners are the table too.
    width = int(paper.width * rng.uniform(1.1, 1.3))
    table = Image.new("RGB", (width, paper.height + 2 * rng.randint(20, 50)), rng.choice(TABLES))
    mask = paper.point(lambda v: 255 if v > 0 else 0)
    table.paste(Image.merge("RGB", [paper] * 3), ((width - paper.width) // 2, (table.height - paper.height) // 2),
                mask)
    pixels = np.asarray(table, dtype=np.float32)
    # Light falling off from one side (a lamp, a window, the phone's own shadow).
    h, w = pixels.shape[:2]
    ramp = np.linspace(rng.uniform(0.45, 0.75), 1.0, w if rng.random() < 0.7 else h)
    ramp = ramp[::-1] if rng.random() < 0.5 else ramp
    shade = ramp[None, :] if len(ramp) == w else ramp[:, None]
    pixels = pixels * shade[..., None] + np.random.default_rng(seed).normal(0, rng.uniform(3, 7), pixels.shape)
    photo = Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.1)))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=rng.randint(60, 85))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), lines
