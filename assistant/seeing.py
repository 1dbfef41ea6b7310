"""What an image shows, decided once for every source: blank, a photo, or a screen or
page of text with photos on it.

  blank or tiny                    -> Blank ("a blank black image"), never a scene
  mostly photo                     -> Described: the captioner's words for the whole image
  a screen, screenshot or page     -> ScreenRead: its text (OCR) and a caption per photo region (or the
                                      region's own text, when it is a photographed page)

The captioner is trained on photos only, so it is never shown anything else: a screen
gets its text read and only its photo regions captioned."""
from dataclasses import dataclass
from typing import Callable

from PIL import Image

from assistant.events import Blank, CaptionWords, Described, PhotoSeen, Request, ScreenRead, unfamiliar
from assistant.layout import CELL, Box, blank, drawn, main_colours, photo_regions

PHOTO_FILE = 0.5      # an image (a file, the clipboard) that one photo region covers this much of is a photo
PHOTO_SCREEN = 0.8    # a window or screen covered this much by photo regions is one photo (a full-screen viewer)
MIN_WORDS = 5         # a photographed page, or a framed photo's border, with fewer words read is left a photo
MAX_PHOTOS = 6        # photo regions captioned on one screen (the largest)
# A photographed page (a letter, a menu, a screen) gets a scene from the captioner, which has seen no page: when
# the classifier sees paper with writing on it, the photo is read, and said as a page if its text fills it.
PAPER_WORDS = frozenset({"envelope", "menu", "ring binder", "dust jacket", "crossword", "comic book",
                         "web page"})    # the classifier's words for paper with writing on it, and a web page
# Their summed probability at which a photo is read for text. The head gives printed pages little of it (an
# "envelope" is the nearest it knows), and almost no camera photo any: reading costs only time, and a photo is said
# as a page only when the words read fill it (screen_reading.md counts both).
PAPER = 0.05
DOCUMENT = 0.1        # share of the photo the text read must span to be a page, not a photo with a title in it
MARGIN = 0.05         # share of a file outside its photo that, when drawn, is read for words around the photo

# (images, their pixel hashes or None) -> the model's words for each image
Caption = Callable[[list[Image.Image], list[str | None]], list[CaptionWords]]


def captioner_words(captioner, beam_size: int | None = None) -> Caption:
    """A Caption straight from the model, with no cache in front (the command line, the web page)."""
    return lambda images, digests: [CaptionWords.of(c) for c in captioner.caption(images, beam_size)]


@dataclass(frozen=True)
class Look:
    """What an image is, from its pixels alone (cheap: no model, no OCR)."""
    kind: str                  # "blank", "photo" or "page" (a screen, screenshot or document)
    blank: str | None
    regions: tuple[Box, ...]   # photo regions, largest first
    framed: bool = False       # a page only if words are read around its photo; else that photo (see look)


def on_paper(concepts) -> bool:
    """Whether the classifier sees paper with writing on it (a letter, a menu) or a web page in a photo."""
    return sum(p for word, p in concepts if word in PAPER_WORDS) >= PAPER


def _words(lines) -> tuple:
    """The lines read that are words, when there are MIN_WORDS of them, else (): a photo's edges, its sky, or the
    table around a photographed page read as a few stray letters ("nh", "}ne", "vy.")."""
    lines = tuple(l for l in lines if sum(ch.isalnum() for ch in l.text) >= 3)
    return lines if sum(len(l.text.split()) for l in lines) >= MIN_WORDS else ()


def worth_reading(caption: CaptionWords) -> bool:
    """Whether a photo may be a page and is read for text before it is captioned: the classifier sees paper, or the
    photo is unlike every training photo (a page the classifier does not know as paper, a book's page in a shadow,
    would otherwise be only "I can't tell")."""
    return on_paper(caption.concepts) or unfamiliar(caption.novelty)


def look(image: Image.Image, request: Request) -> Look:
    if what := blank(image):
        return Look("blank", what, ())
    regions = tuple(photo_regions(image))
    area = image.size[0] * image.size[1]
    if request.source == "screen":
        # A screen this full of photo is one photo in a viewer, even where its flat sky or wall, reaching the
        # edge, parts it in pieces.
        photo = sum(b.area for b in regions) >= PHOTO_SCREEN * area
    else:
        # One photo must cover the image: several that do together are a page of photos (a gallery).
        photo = bool(regions) and regions[0].area >= PHOTO_FILE * area
        # A drawn band or border around that photo may carry words (a news photo's caption, a post's text): it is
        # read as a page, which finish() turns back into the photo when no words are read around it. A clipped
        # white sky is drawn too, by this test, and must stay photo.
        if photo and area - sum(b.area for b in regions) >= MARGIN * area and drawn(image, regions):
            return Look("page", None, regions, framed=True)
    # A page's margins, text and controls are drawn. Where what lies outside the photo regions was not, it is photo
    # too: one photo the region finder saw only in part (a smooth sky at the edge) or not at all (smooth or grey).
    photo = photo or not drawn(image, regions)
    return Look("photo" if photo and not request.read_all else "page", None, regions)


class Seer:
    def __init__(self, caption: Caption, ocr_factory: Callable):
        """caption: the model (with the history cache in front); ocr_factory: makes the OCR engine when first needed."""
        self.caption, self._ocr_factory, self._ocr = caption, ocr_factory, None

    @property
    def ocr(self):
        if self._ocr is None:
            self._ocr = self._ocr_factory()
        return self._ocr

    def see(self, image: Image.Image, request: Request, digest: str | None = None, mtime_ns: int | None = None):
        """The event for one image from a request (its source, window, read_all)."""
        return self.see_many([(image, request, digest, mtime_ns)])[0]

    def see_many(self, items: list[tuple]) -> list:
        """Events for (image, request, digest, mtime_ns) items; their photos are captioned in one batch."""
        looks = [look(image, request) for image, request, _, _ in items]
        photos = [i for i, lk in enumerate(looks) if lk.kind == "photo"]
        captions = dict(zip(photos, self.caption([items[i][0] for i in photos], [items[i][2] for i in photos]))) \
            if photos else {}
        return [self.finish(*item, looks[i], captions.get(i)) for i, item in enumerate(items)]

    @staticmethod
    def _described(image: Image.Image, request: Request, ids: dict, caption: CaptionWords) -> Described:
        return Described(request.source, caption.text, caption.score, **ids, concepts=caption.concepts,
                         novelty=caption.novelty, colours=main_colours(image), support=caption.support,
                         shorter=caption.shorter)

    def page_in_photo(self, caption: CaptionWords, image, request: Request, ids: dict) -> ScreenRead | None:
        """A photographed page, read, or None for a photo. image: the photo, or a function that reads it again,
        called only when the photo is worth reading."""
        if not worth_reading(caption):
            return None
        return self._photographed_page(image() if callable(image) else image, request, ids)

    def _photographed_page(self, image: Image.Image, request: Request, ids: dict) -> ScreenRead | None:
        """The photo's text as a page's, when there are words enough and they span much of it; else None."""
        if not (lines := self._page_lines(image)):
            return None
        return ScreenRead(request.source, image.size, lines, (), request.window, request.read_all, **ids)

    def _page_lines(self, image: Image.Image) -> tuple:
        """The text read in a photo when there are words enough and they span much of it; else ()."""
        if not (lines := _words(self.ocr.read(image, photographed=True))):
            return ()
        left, top = min(l.box.left for l in lines), min(l.box.top for l in lines)
        right = max(l.box.left + l.box.width for l in lines)
        bottom = max(l.box.top + l.box.height for l in lines)
        return lines if (right - left) * (bottom - top) >= DOCUMENT * image.size[0] * image.size[1] else ()

    def _photo_on_screen(self, screen: Image.Image, box: Box, caption: CaptionWords) -> PhotoSeen:
        """A photo region of a screen, captioned, and read as a whole photo would be (page_in_photo): a page
        photographed and shown in a window (a viewer, a chat, a web page) is its text, not "I can't tell".
        It is read with a margin: the region finder's cells stop short of a page's flat paper at its edges."""
        if not worth_reading(caption):
            return PhotoSeen(box, *caption)
        pad = 2 * CELL
        crop = screen.crop((max(0, box.left - pad), max(0, box.top - pad), min(screen.size[0], box.left + box.width + pad),
                            min(screen.size[1], box.top + box.height + pad)))
        return PhotoSeen(box, *caption, text=self._page_lines(crop))

    def finish(self, image: Image.Image, request: Request, digest, mtime_ns, lk: Look, caption=None):
        """The event, given the look and, for a photo, its CaptionWords."""
        ids = dict(path=request.path, digest=digest, mtime_ns=mtime_ns)
        if lk.kind == "blank":
            return Blank(request.source, lk.blank, **ids)
        lines = tuple(self.ocr.read(image, list(lk.regions))) if lk.kind == "page" else ()
        if lk.framed and not request.read_all and not (lines := _words(lines)):
            lk = Look("photo", None, lk.regions)     # no words around the photo: it is that photo
        if lk.kind == "photo":
            caption = caption or self.caption([image], [digest])[0]
            if page := self.page_in_photo(caption, image, request, ids):
                return page
            return self._described(image, request, ids, caption)
        regions = lk.regions[:MAX_PHOTOS] if not request.read_all else ()
        crops = [image.crop((b.left, b.top, b.left + b.width, b.top + b.height)) for b in regions]
        photos = tuple(self._photo_on_screen(image, b, caption)
                       for b, caption in zip(regions, self.caption(crops, [None] * len(crops)))) \
            if crops else ()
        # With no text and no photo, what the pixels show for certain is all there is to say.
        colours = main_colours(image) if not lines and not photos else None
        return ScreenRead(request.source, image.size, lines, photos, request.window, request.read_all, **ids,
                          colours=colours)
