"""What flows through the assistant: requests into the captioning worker, plain
results out of it. Results carry facts only (the model's words, its score, the
failure's reason); the narrator alone turns them into sentences."""
import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from PIL import Image

from assistant.layout import Box
from assistant.ocr import TextLine
from assistant.window import WindowInfo

# Where an image came from. "catch-up": a photo saved into a watched folder while Iris was not running.
SOURCES = ("screen", "clipboard", "folder", "catch-up", "file")


def unfamiliar(novelty: float | None) -> bool:
    """Whether a photo is unlike the model's training photos: its novelty is 1 or more (model/familiarity.py);
    None, from a model calibrated before familiarity was learnt, is not."""
    return novelty is not None and novelty >= 1


class CaptionWords(NamedTuple):
    """A photo's caption as the model wrote it, with what decides whether it is said; what the history caches."""
    text: str
    score: float                     # mean log-probability per token
    concepts: tuple = ()             # (plain word, probability) the encoder's ImageNet head sees
    novelty: float | None = None     # 1 or more: unlike the model's training photos
    support: float | None = None     # the chance of the least likely thing it names (model/presence.py)
    shorter: tuple | None = None     # (text, score, support): it cut before a thing the probes doubt

    @classmethod
    def of(cls, caption) -> "CaptionWords":
        """From a model/captioner.py Caption."""
        return cls(caption.text, caption.score, caption.concepts, caption.novelty, caption.support, caption.shorter)


@dataclass(frozen=True)
class Request:
    source: str
    image: Image.Image | None = None     # screen and clipboard: already in memory
    path: Path | None = None             # folders: read by the worker
    digest: str | None = None            # the image's pixel hash, when the source knows it already
    window: WindowInfo | None = None     # screen: the active window the image shows
    read_all: bool = False               # screen: read every line of text (Read all text), not the gist

    @property
    def urgent(self) -> bool:
        """Someone is waiting for this one: it goes ahead of a folder backlog."""
        return self.image is not None


@dataclass(frozen=True)
class Described:
    source: str
    caption: str                  # the model's words, as decoded
    score: float                  # mean log-probability per token
    path: Path | None = None
    digest: str | None = None
    model: str = ""               # what produced the words (the history cache key)
    mtime_ns: int | None = None   # the file's modification time, for catching up without repeats
    concepts: tuple = ()          # (plain word, probability) from the encoder's ImageNet head, most likely first
    novelty: float | None = None  # 1 or more: unlike the photos the model learnt from (model/familiarity.py)
    colours: tuple | None = None  # its main plain colours, () for many (assistant/layout.py); None: not looked at
    support: float | None = None  # the chance of the least likely thing the caption names (model/presence.py)
    shorter: tuple | None = None  # (text, score, support): the caption cut before a thing the probes doubt

    @property
    def confidence(self) -> float:
        """Geometric-mean token probability, 0..1."""
        return math.exp(self.score)


@dataclass(frozen=True)
class Failed:
    source: str
    reason: str                   # plain words, without the path
    path: Path | None = None
    mtime_ns: int | None = None


@dataclass(frozen=True)
class Blank:
    """An image with nothing in it to describe: uniform, almost empty, or a few pixels."""
    source: str
    what: str                     # "a blank black image"
    path: Path | None = None
    digest: str | None = None
    mtime_ns: int | None = None


@dataclass(frozen=True)
class PhotoSeen:
    """A photo inside a screen or page, captioned."""
    box: Box
    caption: str
    score: float
    concepts: tuple = ()
    novelty: float | None = None
    support: float | None = None
    shorter: tuple | None = None
    colours: tuple | None = None  # not looked at for a photo inside a screen
    text: tuple = ()              # TextLines, when the photo is a photographed page (or a picture of text), read

    @property
    def confidence(self) -> float:
        return math.exp(self.score)


@dataclass(frozen=True)
class ScreenRead:
    """A screen, screenshot or page of text: its text lines in reading order and the photos on it."""
    source: str
    size: tuple[int, int]
    lines: tuple[TextLine, ...]
    photos: tuple[PhotoSeen, ...] = ()
    window: WindowInfo | None = None
    read_all: bool = False
    path: Path | None = None
    digest: str | None = None
    mtime_ns: int | None = None
    colours: tuple[str, ...] | None = None    # main colours, looked at only when there is no text and no photo


Result = Described | Failed | Blank | ScreenRead
