"""One uploaded image in, what Iris says of it out: the assistant's own routing and words
(assistant/seeing.py, assistant/narrator.py), and for a photo, where the model looked for
each word, as pictures with a text alternative each ("dog: lower left")."""
import base64
import io
import threading
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from assistant.events import CaptionWords, Described, Request
from assistant.layout import Box, where
from assistant.narrator import Narration
from assistant.seeing import Seer, captioner_words, look

MAP_SIZE = 240        # pixels on the longer side of each attention picture


@dataclass
class WordMap:
    word: str
    where: str            # "at the bottom left"
    png: str              # data: URI, made in memory


@dataclass
class Description:
    text: str
    kind: str             # photo, page, blank
    maps: list[WordMap] = field(default_factory=list)


def _heat(image: Image.Image, alpha: np.ndarray, grid: int) -> str:
    """The photo dimmed where the model did not look, as a PNG data URI."""
    small = image.copy()
    small.thumbnail((MAP_SIZE, MAP_SIZE))
    weights = alpha.reshape(grid, grid)
    weights = (weights / weights.max()) if weights.max() > 0 else weights
    mask = Image.fromarray((weights * 255).astype(np.uint8)).resize(small.size, Image.Resampling.BICUBIC)
    dark = Image.new("RGB", small.size, (0, 0, 0))
    out = Image.composite(small, Image.blend(dark, small, 0.25), mask)
    buf = io.BytesIO()
    out.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _where_looked(alpha: np.ndarray, grid: int) -> str:
    """Where the attention sits, in the narrator's words for a place in a picture."""
    row, col = divmod(int(alpha.argmax()), grid)
    return where(Box(col, row, 1, 1), (grid, grid))


class Describer:
    def __init__(self, captioner, narration: Narration, ocr_factory):
        self.captioner, self.narration = captioner, narration
        self.seer = Seer(captioner_words(captioner), ocr_factory)
        self._lock = threading.Lock()       # one image at a time: the model is shared with the assistant

    def describe(self, image: Image.Image) -> Description:
        request = Request("web")
        with self._lock:
            lk = look(image, request)
            if lk.kind != "photo":
                event = self.seer.finish(image, request, None, None, lk)     # a framed photo may come back one
                return Description(self.narration.words(event), "photo" if isinstance(event, Described) else lk.kind)
            [cap] = self.captioner.caption([image])
        event = self.seer.finish(image, request, None, None, lk, CaptionWords.of(cap))
        if not isinstance(event, Described):          # a photographed page: read, not captioned
            return Description(self.narration.words(event), "page")
        text = self.narration.photo_words(event)
        maps = []
        if cap.alphas is not None and text.removeprefix("possibly ") == cap.text:   # maps only for the model's words
            alphas = cap.alphas.numpy()
            maps = [WordMap(word, _where_looked(a, cap.grid), _heat(image, a, cap.grid))
                    for word, a in zip(cap.words, alphas)]
        return Description(text, "photo", maps)
