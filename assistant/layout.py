"""What an image is made of, from its pixels alone (no model): is it blank, and which
regions of it are photos rather than text, flat interface or icons.

Photos are told apart by how many distinct colours a small cell holds: natural images
(sensor noise, JPEG, texture) fill a 16x16 cell with well over a hundred colours,
while text, even anti-aliased, and flat interface stay far below that on our rendered
screen set (benchmarks/screens). Cells over the threshold are closed into regions;
a region is a photo when it is large enough to be worth describing."""
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

CELL = 16                 # pixels per cell side
PHOTO_COLOURS = 90        # distinct colours that make a cell photo-like (text and UI stay below)
SMOOTH_COLOURS = 32       # ... or this many, when no colour covers SMOOTH_MODE of the cell: an enlarged photo is
SMOOTH_MODE = 0.15        # smooth, while text and interface always keep a background colour that dominates
MIN_SIDE = 96             # a photo region smaller than this on either side is an icon, not a picture
MIN_FILL = 0.55           # share of a region's box that must be photo-like cells
BLANK_TOLERANCE = 12      # a pixel this close (per channel) to the image's usual colour is background
BLANK_SHARE = 0.00002     # an image with fewer other pixels than this share is blank: one short word is more
TINY = 8                  # an image this small on either side is too small to show anything
DRAWN = 0.85              # share of pixels equal to their neighbours above which an image is drawn, not a photo


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height

    def iou(self, other: "Box") -> float:
        x0, y0 = max(self.left, other.left), max(self.top, other.top)
        x1 = min(self.left + self.width, other.left + other.width)
        y1 = min(self.top + self.height, other.top + other.height)
        inter = max(0, x1 - x0) * max(0, y1 - y0)
        return inter / (self.area + other.area - inter) if inter else 0.0

    def contains(self, x: float, y: float) -> bool:
        return self.left <= x < self.left + self.width and self.top <= y < self.top + self.height


HUES = ((15, "red"), (45, "orange"), (70, "yellow"), (170, "green"), (200, "cyan"), (260, "blue"), (300, "purple"),
        (340, "pink"), (361, "red"))      # upper hue limit in degrees, plain name
GREYS = ("black", "white", "dark grey", "grey")
_HUE_NAMES = tuple(dict.fromkeys(n for _, n in HUES))                  # each once: red ends the circle as well
# Every name a pixel can get, numbered: hue names, the same darkened, then the greys.
COLOUR_NAMES = _HUE_NAMES + tuple(f"dark {n}" for n in _HUE_NAMES) + GREYS
_HUE_INDEX = np.array([_HUE_NAMES.index(n) for _, n in HUES])
MAIN_SHARE = 0.2          # a colour covering this share of an image is one of its main colours
MAIN_MOST = 3             # at most this many are named ...
MAIN_TOGETHER = 0.6       # ... and together they must cover this share ("mostly"); else the image has many colours


def _colour_indices(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 -> (N,) indices into COLOUR_NAMES: greys by lightness, other colours by hue, "dark" below
    a level. Numbers rather than strings, so that a whole image's pixels are named and counted quickly."""
    rgb = np.asarray(rgb, dtype=np.uint8).reshape(-1, 3)
    c = rgb.astype(np.int16)
    lum = 0.299 * c[:, 0] + 0.587 * c[:, 1] + 0.114 * c[:, 2]
    hue = np.asarray(Image.fromarray(rgb[None]).convert("HSV"))[0, :, 0].astype(float) * 360 / 255
    named = _HUE_INDEX[np.searchsorted([limit for limit, _ in HUES], hue, side="right")] \
        + len(_HUE_NAMES) * (c.max(1) < 100)
    grey = 2 * len(_HUE_NAMES) + np.select([lum < 40, lum > 215, lum < 110], [0, 1, 2], 3)
    return np.where(c.max(1) - c.min(1) < 30, grey, named)


def _colour_name(rgb) -> str:
    return COLOUR_NAMES[int(_colour_indices(np.asarray(rgb)[None])[0])]


def main_colours(image: Image.Image) -> tuple[str, ...]:
    """The plain colours that each cover MAIN_SHARE of the image and together most of it, most first; () when
    no few colours do (noise, a busy picture): it has many. Pixels only, so what it says is true of any image.
    The hue bands are not equal (green is widest), which is why a colour must also be common, not only first."""
    # Sampled, not averaged: averaging turns coloured noise into grey. Sampled before the conversion to RGB,
    # which is per pixel, so only the samples are converted (this runs for every photo described).
    small = np.asarray(image.resize((64, 48), Image.Resampling.NEAREST).convert("RGB")).reshape(-1, 3)
    counts = np.bincount(_colour_indices(small), minlength=len(COLOUR_NAMES))
    main = [(COLOUR_NAMES[i], counts[i]) for i in np.flatnonzero(counts >= MAIN_SHARE * len(small))]
    if not main or len(main) > MAIN_MOST or sum(k for _, k in main) < MAIN_TOGETHER * len(small):
        return ()
    return tuple(n for n, _ in sorted(main, key=lambda nk: (-nk[1], nk[0])))     # ties: by name


def blank(image: Image.Image) -> str | None:
    """'a blank black image' when there is nothing to describe (uniform, almost empty or tiny), else None."""
    w, h = image.size
    if w < TINY or h < TINY:
        return f"a tiny image of {w} by {h} pixels"
    # At full resolution: shrinking first would average a few lines of text away into "blank".
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    sample = pixels[:: max(1, len(pixels) // 20_000)]
    usual = np.median(sample, axis=0).astype(np.int16)

    def others(p: np.ndarray) -> int:
        return int((np.abs(p.astype(np.int16) - usual) > BLANK_TOLERANCE).any(1).sum())
    # Other pixels among the sample are other pixels of the image too: where they are already too many for a
    # blank image (any photo, any screen of text), the full pass is not needed and the answer is the same.
    if others(sample) >= BLANK_SHARE * len(pixels):
        return None
    if others(pixels) < BLANK_SHARE * len(pixels):
        return f"a blank {_colour_name(usual)} image"
    return None


def _colour_codes(image: Image.Image) -> np.ndarray:
    """(H, W) one number per colour: PIL's RGBX pixels read as 32-bit words (two pixels of one colour, one
    number), with no arithmetic on the pixels."""
    return np.asarray(image.convert("RGB").convert("RGBX")).view(np.uint32)[..., 0]


def _photo_cells(code: np.ndarray) -> np.ndarray:
    """(rows, cols) bool: cells with at least PHOTO_COLOURS distinct colours, or SMOOTH_COLOURS with no colour
    covering SMOOTH_MODE of the cell. code: (H, W) colour codes."""
    h, w = (code.shape[0] // CELL) * CELL, (code.shape[1] // CELL) * CELL
    cells = np.sort(code[:h, :w].reshape(h // CELL, CELL, w // CELL, CELL).transpose(0, 2, 1, 3)
                    .reshape(h // CELL, w // CELL, CELL * CELL), axis=2)
    change = np.concatenate([np.ones(cells.shape[:2] + (1,), bool), np.diff(cells, axis=2) != 0], axis=2)
    distinct = change.sum(2)
    photo = distinct >= PHOTO_COLOURS
    # The commonest colour's share matters only for the cells in between, so it is measured for them alone.
    between = ~photo & (distinct >= SMOOTH_COLOURS)
    if between.any():
        index = np.arange(CELL * CELL)
        run_start = np.maximum.accumulate(np.where(change[between], index, 0), axis=1)
        commonest = (index - run_start + 1).max(1) / (CELL * CELL)      # share of the cell's commonest colour
        photo[between] = commonest < SMOOTH_MODE
    return photo


def photo_regions(image: Image.Image) -> list[Box]:
    """Boxes of the photos in an image, largest first; a photo that fills the image gives one box."""
    cells = _photo_cells(_colour_codes(image))
    if not cells.any():
        return []
    # Flat patches inside a photo (sky, a wall) are holes to fill; photos a gap apart stay apart.
    labels, _ = ndimage.label(ndimage.binary_fill_holes(cells))
    boxes = []
    for sl in ndimage.find_objects(labels):
        rows, cols = sl
        if (rows.stop - rows.start) * CELL < MIN_SIDE or (cols.stop - cols.start) * CELL < MIN_SIDE:
            continue
        if cells[sl].mean() < MIN_FILL:
            continue
        boxes.append(Box(cols.start * CELL, rows.start * CELL, (cols.stop - cols.start) * CELL,
                         (rows.stop - rows.start) * CELL))
    return sorted(boxes, key=lambda b: -b.area)


def drawn(image: Image.Image, outside: list[Box] | tuple = ()) -> bool:
    """Whether an image, or its part outside the `outside` boxes, was drawn (a screen, a chart, a drawing) rather
    than photographed: most of its pixels are exactly the colour of their neighbours, where a camera's noise and
    JPEG leave few so. Nothing left outside the boxes is not drawn."""
    code = _colour_codes(image)
    keep = np.ones(code.shape, bool)
    for b in outside:
        keep[b.top:b.top + b.height, b.left:b.left + b.width] = False
    across = keep[:, 1:] & keep[:, :-1]
    down = keep[1:, :] & keep[:-1, :]
    pairs = int(across.sum() + down.sum())
    if not pairs:
        return False
    same = int((code[:, 1:] == code[:, :-1])[across].sum() + (code[1:, :] == code[:-1, :])[down].sum())
    return same >= DRAWN * pairs


def where(box: Box, size: tuple[int, int]) -> str:
    """'on the left', 'at the top right', 'in the middle': where a region sits, in words."""
    cx, cy = (box.left + box.width / 2) / size[0], (box.top + box.height / 2) / size[1]
    col = "left" if cx < 0.36 else "right" if cx > 0.64 else ""
    row = "top" if cy < 0.36 else "bottom" if cy > 0.64 else ""
    if row and col:
        return f"at the {row} {col}"
    if row:
        return f"at the {row}"
    if col:
        return f"on the {col}"
    return "in the middle"
