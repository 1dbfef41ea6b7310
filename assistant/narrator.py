"""The narrator: the one place that decides what Iris says.

Results from the worker, action feedback and start-up problems come in; sentences go
out, spoken and printed. Narration is the policy and nothing else (no threads, no
clock of its own, no torch), so it is tested with fake results; Narrator runs it on a
thread so that photo bursts are summarised once the folder has been quiet a while."""
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from assistant.events import Described, Failed, Result
from assistant.problems import Problem

NOTHING_YET = "Nothing has been described yet."


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


class Narration:
    def __init__(self, hedge_below: float, burst_seconds: float):
        self.hedge_below, self.burst_seconds = hedge_below, burst_seconds
        self.last_description: str | None = None
        self._bursts = {"folder": _Burst(), "catch-up": _Burst()}

    # --- words for one image ------------------------------------------------------
    def photo_words(self, result: Described) -> str:
        """The caption as Iris says it: hedged when the model is unsure."""
        return f"possibly {result.caption}" if result.confidence < self.hedge_below else result.caption

    def printed(self, result: Result) -> str:
        """The log line for one result: every photo of a burst is printed, even if only a summary is said."""
        where = f" {result.path}:" if result.path else ""
        what = self.photo_words(result) if isinstance(result, Described) else f"error: {result.reason}"
        return f"[{result.source}]{where} {what}"

    # --- what is said ---------------------------------------------------------------
    def hear(self, result: Result, now: float) -> list[Utterance]:
        if result.source in self._bursts:
            burst = self._bursts[result.source]
            if isinstance(result, Described):
                burst.sentences.append(self.photo_words(result))
            else:
                burst.failures += 1
            burst.last = now
            return []
        if isinstance(result, Failed):
            what = {"screen": "the screen", "clipboard": "the copied image"}.get(result.source, "that image")
            return [Utterance(f"Sorry, {what} could not be described.", kind="status")]
        text = self.photo_words(result)
        if result.source == "clipboard":
            text = f"Clipboard image: {text}"
        return [self._description(text, interrupt=True)]

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
        if source == "catch-up":
            text = f"A photo arrived while Iris was off: {first}." if n == 1 else \
                f"{n} photos arrived while Iris was off; the first: {first}." if n else ""
        else:
            text = f"New photo: {first}." if n == 1 else f"{n} new photos; the first: {first}." if n else ""
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
            if isinstance(item, (Described, Failed)):
                self.print_line(self.narration.printed(item))
                for u in self.narration.hear(item, time.monotonic()):
                    self.say(u)
            elif callable(item):
                self.say(item(self.narration))
            for u in self.narration.due(time.monotonic(), self.hold()):
                self.say(u)
