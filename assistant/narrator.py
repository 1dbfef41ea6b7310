"""The narrator: the one place that decides what Iris says.

Results from the worker, action feedback and start-up problems come in; sentences go
out, spoken and printed. Narration is the policy and nothing else (no threads, no
clock of its own, no torch), so it is tested with fake results; Narrator runs it on a
thread so that photo bursts are summarised once the folder has been quiet a while."""
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from assistant.events import Blank, Described, Failed, Result, ScreenRead, unfamiliar
from assistant.layout import where
from assistant.problems import Problem
from assistant.window import WindowInfo
from model.calibration import UNCALIBRATED, Calibration
from model.concepts import CATEGORY_WORDS, GROUNDED, mentions

NOTHING_YET = "Nothing has been described yet."
RESULTS = (Described, Failed, Blank, ScreenRead)
MASS_NOUNS = {"food", "coffee", "fruit"}
# Chosen on the val split (benchmarks/results/grounding_val.md), never on test:
GROUNDED_ANY = 0.7    # any other ImageNet class ("tripod", "space shuttle") needs this much
MAY_BE = 0.2          # a category this likely is offered when Iris cannot tell ("it may be a dog")
GIST_LINES = 3        # lines of text read after the heading before "N more lines"
SHORT_SCREEN = 6      # a screen with at most this many lines (a form) is read whole, or whole below its heading
HEADING = 1.35        # a line this much taller than the typical line is a heading
HEADING_ZONE = 0.4    # ... when it starts in this top share of what is read: a page's title sits under however many
                      # bars and bubbles a browser shows, which a count of lines cannot bound; a tall line further
                      # down heads a section, not the page
PHOTOS_SAID = 3       # photos on a screen described one by one; the rest are counted
TERMINALS = {"xterm", "uxterm", "gnome-terminal", "gnome-terminal-server", "konsole", "xfce4-terminal", "alacritty",
             "kitty", "terminator", "tilix", "urxvt", "st", "lxterminal", "mate-terminal", "qterminal", "wezterm"}
BROWSERS = {"chromium", "chromium-browser", "google-chrome", "firefox", "firefox-esr", "brave-browser", "epiphany",
            "navigator", "microsoft-edge", "vivaldi-stable", "opera"}


@dataclass(frozen=True)
class Utterance:
    text: str
    interrupt: bool = True        # cut off whatever is being spoken
    kind: str = "description"     # description, summary, status, repeat, ready
    mute_after: bool = False      # the last words before speech goes off


@dataclass
class _Burst:
    sentences: list[str] = field(default_factory=list)   # one per described photo, in order
    failures: int = 0
    last: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.sentences or self.failures)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _with_article(word: str) -> str:
    if word in MASS_NOUNS:
        return word
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _colours(colours: tuple | None) -> str:
    """What an image's pixels show for certain, said after "I can't tell": its main colours, or that it has
    many. Nothing where they were not looked at."""
    if colours is None:
        return ""
    if not colours:
        return "; it has many colours"
    return "; it is mostly " + (colours[0] if len(colours) == 1 else ", ".join(colours[:-1]) + " and " + colours[-1])


class Narration:
    def __init__(self, burst_seconds: float, calibration: Calibration = UNCALIBRATED):
        """calibration: how far to trust a caption of the loaded model (model/calibration.py); calibrate()
        replaces it once the model is loaded."""
        self.burst_seconds, self.calibration = burst_seconds, calibration
        self.hedge_below: float | None = None     # a confidence from the settings that overrides the hedge
        self.last_description: str | None = None
        self._bursts = {"folder": _Burst(), "catch-up": _Burst()}

    def calibrate(self, calibration: Calibration, hedge_setting: float | str = "auto") -> None:
        """Take the model's own doubt, learnt on val when it was trained; a number for model.hedge_below in
        the settings overrides the hedge: captions less confident than it are said with "possibly"."""
        self.calibration = calibration
        self.hedge_below = None if hedge_setting == "auto" else float(hedge_setting)

    # --- words for one image ------------------------------------------------------
    def photo_words(self, result) -> str:
        """A caption as Iris says it, kept true to what the classifier sees:
        - a confident concept the caption does not name replaces the caption ("a photo of a cat"); the captioner
          has already tried to find a caption that names a sure everyday category (model/guided.py);
        - a caption that names a sure category but is as likely wrong as right is that category alone;
        - an image unlike every photo the model learnt from (a gradient, noise, a drawing) never gets its
          caption: only a confident everyday category is said, or "I can't tell what this image shows";
        - a caption at least as likely wrong as right is said without the phrase that names a thing the
          presence probes doubt, where the shorter caption is not as likely wrong as right itself, and always
          hedged ("possibly a man is riding a bike" for "a man is riding a bike down a dirt road";
          model/shorter.py);
        - else it is not said: "I can't tell", with an everyday category the classifier half-sees ("it may be
          a dog");
        - a caption wrong one time in three or more is hedged ("possibly ...")."""
        top = result.concepts[0] if result.concepts else None
        category = top is not None and top[0] in CATEGORY_WORDS
        sure_category = category and top[1] >= GROUNDED
        if unfamiliar(result.novelty):
            # The rarer classes were trusted at GROUNDED_ANY on photos; on noise the head is as sure of "doormat".
            if sure_category:
                return f"a photo of {_with_article(top[0])}"
            return "I can't tell what this image shows" + _colours(result.colours)
        if top and top[1] >= (GROUNDED if category else GROUNDED_ANY) and not mentions(result.caption, [top[0]]):
            return f"a photo of {_with_article(top[0])}"
        caption, score, cut = result.caption, result.score, False
        doubt = self.calibration.doubt(score, len(caption.split()), result.support)
        if doubt >= self.calibration.abstain_at and result.shorter:
            # Withheld for one doubted thing, the caption may be said without it (model/shorter.py), weighed by
            # the same doubt as any caption; never one that drops the category the classifier is sure of.
            text, short_score, support = result.shorter
            short_doubt = self.calibration.doubt(short_score, len(text.split()), support)
            if short_doubt < self.calibration.abstain_at and not (sure_category and not mentions(text, [top[0]])):
                caption, score, doubt, cut = text, short_score, short_doubt, True
        if doubt >= self.calibration.abstain_at:
            # The caption names the sure category (perhaps only because the search was made to: model/guided.py)
            # but the rest of it is as likely wrong as right: the category alone is said.
            if sure_category:
                return f"a photo of {_with_article(top[0])}"
            # Only an everyday category is offered: a rare class this unsure ("oxygen mask") misleads.
            if category and top[1] >= MAY_BE:
                return f"I can't tell what this photo shows; it may be {_with_article(top[0])}"
            return "I can't tell what this photo shows"
        # A cut caption is always hedged: the doubt checks the things it names, and what it says beside them is
        # mostly its verb ("a little boy is playing"), which nothing checks and which its references use less
        # often than those of a caption said whole (benchmarks/results/grounding.md).
        unsure = cut or (math.exp(score) < self.hedge_below if self.hedge_below is not None
                         else doubt >= self.calibration.hedge_at)
        return f"possibly {caption}" if unsure else caption

    def words(self, result: Result) -> str:
        """What one result says, as a sentence without the source's prefix."""
        if isinstance(result, Described):
            return self.photo_words(result)
        if isinstance(result, Blank):
            return result.what
        if isinstance(result, ScreenRead):
            return self.screen_words(result)
        return f"error: {result.reason}"

    def printed(self, result: Result) -> str:
        """The log line for one result: every photo of a burst is printed, even if only a summary is said."""
        place = f" {result.path}:" if result.path else ""
        return f"[{result.source}]{place} {self.words(result)}"

    def history_words(self, result: Result, keep_screen_text: bool = True) -> str | None:
        """What the history keeps of a result: the spoken words; for a screen without its text, if so set."""
        if isinstance(result, ScreenRead) and not keep_screen_text:
            return ("Screen described; its text was not kept. " + self._photos(result, with_text=False)).strip()
        return None if isinstance(result, Failed) else self.words(result)

    @staticmethod
    def window_kind(window: WindowInfo) -> str | None:
        """What kind of window it is, only where its metadata says so reliably."""
        if window.is_dialog:
            return "dialog"
        app = window.app.lower()
        return "terminal" if app in TERMINALS else "web browser" if app in BROWSERS else None

    def window_title(self, window: WindowInfo) -> Utterance:
        """Said at once on Describe screen, before the slow part: which window this is."""
        kind = self.window_kind(window)
        return Utterance(f"{window.title}" + (f", {kind}." if kind else "."), kind="title")

    @staticmethod
    def _sentences(texts) -> str:
        """Lines quoted as they are, each ended so that speech pauses between them."""
        return " ".join(t if t[-1:] in ".!?:;," else f"{t}." for t in (t.strip() for t in texts) if t)

    def _gist(self, r: ScreenRead) -> str:
        lines = list(r.lines)
        if not lines:
            return ""
        if r.read_all or (r.window and r.window.is_dialog):
            return self._sentences(l.text for l in lines)
        typical = sorted(l.height for l in lines)[len(lines) // 2]
        first = next((i for i, l in enumerate(lines)
                      if l.height >= HEADING * typical and l.box.top < HEADING_ZONE * r.size[1]), None)
        heading = []
        if first is not None:                 # a heading wrapped over several lines is one heading
            end = first
            while end < len(lines) and lines[end].height >= HEADING * typical:
                end += 1
            heading = lines[first:end]
        short = len(lines) <= SHORT_SCREEN
        if short and not heading:
            return self._sentences(l.text for l in lines)
        rest = [l for l in lines if l not in heading]
        # What follows a heading is what it heads; the lines above it are a window's toolbars and tabs (a
        # browser's address bar), counted among the "more lines" that Read all text reads.
        # A short screen (a form, a small page) is said whole below its heading.
        said = (lines[end:] if heading else rest)[:None if short else GIST_LINES]
        text = (f"Heading: {self._sentences([' '.join(l.text.strip() for l in heading)])} " if heading else "") \
            + self._sentences(l.text for l in said)
        more = len(rest) - len(said)
        return text + (f" {_plural(more, 'more line')}." if more else "")

    def _photos(self, r: ScreenRead, with_text: bool = True) -> str:
        """The photos on a screen; with_text=False leaves out the text read in them (the history, when so set)."""
        photos = sorted(r.photos, key=lambda p: (p.box.top, p.box.left))
        said = []
        for p in photos[:PHOTOS_SAID]:
            place = where(p.box, r.size).capitalize()
            if p.text:      # what it shows is read, not guessed; "a page" would claim more than the pixels do
                page = ScreenRead(r.source, (p.box.width, p.box.height), p.text)    # its gist, as a page's
                said.append(f"{place}, an image with text: {self._gist(page)}" if with_text
                            else f"{place}, an image with text.")
                continue
            words = self.photo_words(p)
            # "a photo of a cat" names the photo itself: "a photo: a photo of a cat" would say it twice.
            said.append(f"{place}, {words}." if words.startswith("a photo of ") else f"{place}, a photo: {words}.")
        more = len(photos) - PHOTOS_SAID
        return " ".join(said) + (f" {_plural(more, 'more photo')}." if more > 0 else "")

    def screen_words(self, r: ScreenRead) -> str:
        """A screen or page: its text (the gist, or all of it for Read all text), then its photos."""
        gist = self._gist(r)
        if r.read_all:
            return f"All text: {gist}" if gist else "No text found."
        photos = self._photos(r)
        if not gist and not photos and r.source != "screen":       # drawn, with nothing in it to read
            return f"A drawing or graphic, with no text{_colours(r.colours)}."
        text = f"Text: {gist}" if gist else "No text found."
        if r.source != "screen":
            text = f"An image of a screen or document. {text}"
        return f"{text} {photos}".strip()

    # --- what is said ---------------------------------------------------------------
    def hear(self, result: Result, now: float) -> list[Utterance]:
        if result.source in self._bursts:
            burst = self._bursts[result.source]
            if isinstance(result, Failed):
                burst.failures += 1
            else:
                burst.sentences.append(self.words(result))
            burst.last = now
            return []
        if isinstance(result, Failed):
            what = {"screen": "the screen", "clipboard": "the copied image"}.get(result.source, "that image")
            return [Utterance(f"Sorry, {what} could not be described.", kind="status")]
        text = self.words(result)
        if result.source == "clipboard":
            text = f"Clipboard image: {text}"
        elif isinstance(result, Blank):
            text = text[0].upper() + text[1:] + "."
        # The window's title was said first, at once: the description follows it, never cuts it off.
        return [self._description(text, interrupt=result.source != "screen")]

    def due(self, now: float, hold: bool = False) -> list[Utterance]:
        """Summaries of bursts that have been quiet for burst_seconds. hold: more photos are on their way."""
        out = []
        for source, burst in self._bursts.items():
            if burst and not hold and now - burst.last >= self.burst_seconds:
                self._bursts[source] = _Burst()
                out.append(self._summary(source, burst))
        return out

    def next_due(self, now: float) -> float | None:
        """Seconds until a burst may be summarised, or None when none is waiting."""
        waits = [b.last + self.burst_seconds - now for b in self._bursts.values() if b]
        return max(0.0, min(waits)) if waits else None

    def _summary(self, source: str, b: _Burst) -> Utterance:
        n, first = len(b.sentences), (b.sentences[0] if b.sentences else "")
        # A page's or a drawing's words end their own sentence ("... 3 more lines."); a caption does not.
        first = first if first[-1:] in ".!?" else f"{first}."
        if source == "catch-up":
            text = f"A photo arrived while Iris was off: {first}" if n == 1 else \
                f"{n} photos arrived while Iris was off; the first: {first}" if n else ""
        else:
            text = f"New photo: {first}" if n == 1 else f"{n} new photos; the first: {first}" if n else ""
        if b.failures:
            text += f" {_plural(b.failures, 'new file')} could not be read."
        # A folder summary never cuts off a screen description being spoken.
        return self._description(text.strip(), interrupt=False, kind="summary")

    def _description(self, text: str, interrupt: bool, kind: str = "description") -> Utterance:
        self.last_description = text
        return Utterance(text, interrupt=interrupt, kind=kind)

    def repeat(self) -> Utterance:
        """The last description or summary again; status messages are never what is repeated."""
        return Utterance(self.last_description or NOTHING_YET, kind="repeat")

    @staticmethod
    def status(text: str, mute_after: bool = False) -> Utterance:
        return Utterance(text, kind="status", mute_after=mute_after)

    @staticmethod
    def ready(problems: list[Problem], describe_keys: str | None, tray: bool) -> Utterance:
        if describe_keys:
            text = f"Iris is ready. Press {describe_keys} to describe the screen."
        elif tray:
            text = "Iris is ready. Use the tray menu to describe the screen."
        else:
            text = "Iris is ready."
        if problems:     # a user who cannot see the terminal hears them too, once
            text += " " + " ".join(p.said for p in problems)
        return Utterance(text, kind="ready")


class Narrator:
    """Runs a Narration on its own thread; say() receives each Utterance, print_line each log line."""

    def __init__(self, narration: Narration, say: Callable[[Utterance], None], print_line: Callable[[str], None],
                 hold: Callable[[], bool] = lambda: False):
        self.narration, self.say, self.print_line, self.hold = narration, say, print_line, hold
        self._inbox: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="iris-narrator", daemon=True)

    def start(self) -> list[Problem]:
        self._thread.start()
        return []

    def stop(self) -> None:
        """End; a summary still waiting is not said (the user asked Iris to stop)."""
        self._inbox.put(None)
        self._thread.join(10)

    # --- from any thread ------------------------------------------------------------
    def hear(self, result: Result) -> None:
        self._inbox.put(result)

    def tell(self, make: Callable[[Narration], Utterance]) -> None:
        """Say something made from the narration in order with the results: narrator.tell(Narration.repeat)."""
        self._inbox.put(make)

    # --- the narrator thread -------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                wait = self.narration.next_due(time.monotonic())
                # Overdue but held (photos still arriving): look again shortly instead of spinning.
                item = self._inbox.get(timeout=None if wait is None else max(wait, 0.1))
            except queue.Empty:
                item = ...
            if item is None:
                return
            try:
                if isinstance(item, RESULTS):
                    self.print_line(self.narration.printed(item))
                    for u in self.narration.hear(item, time.monotonic()):
                        self.say(u)
                elif callable(item):
                    self.say(item(self.narration))
                for u in self.narration.due(time.monotonic(), self.hold()):
                    self.say(u)
            except Exception as e:    # noqa: BLE001 - the narrator must outlive one bad result
                self.print_line(f"Iris: could not put a result into words ({type(e).__name__}: {e})")
