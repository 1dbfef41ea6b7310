"""The one captioning worker: model loaded and warmed once, then jobs from every
source. Screen and clipboard requests go ahead of a folder backlog; folder photos
are captioned in batches and announced as one summary per burst."""
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from PIL import Image

from assistant.history import History, image_hash
from assistant.images import ImageError, open_image
from assistant.sidecar import write_sidecar

FILE_BATCH = 8          # photos encoded together; small, so a hotkey press never waits long
FILE_QUEUE_LIMIT = 64   # back-pressure: the folder watcher blocks beyond this


@dataclass
class Announcement:
    text: str
    interrupt: bool = True


@dataclass
class _Burst:
    captions: list = field(default_factory=list)    # (path, spoken caption)
    failures: list = field(default_factory=list)    # (path, reason)
    last: float = 0.0


def hedged(text: str, confidence: float, threshold: float) -> str:
    return f"possibly {text}" if confidence < threshold else text


class Worker:
    def __init__(self, captioner_factory: Callable, settings: dict, announce: Callable[[Announcement], None],
                 history: History | None, log: Callable[[str], None] = print,
                 folders_busy: Callable[[], bool] = lambda: False):
        self.factory, self.settings, self.announce = captioner_factory, settings, announce
        self.history, self.log, self.folders_busy = history, log, folders_busy
        self.urgent: queue.Queue = queue.Queue()
        self.files: queue.Queue = queue.Queue(maxsize=FILE_QUEUE_LIMIT)
        self.ready = threading.Event()
        self.failed: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._burst = _Burst()
        self.model_id = ""
        self.captioner = None
        self.thread = threading.Thread(target=self._run, name="iris-worker", daemon=True)

    # --- producers ------------------------------------------------------------
    def submit_image(self, source: str, image: Image.Image, digest: str | None = None) -> None:
        self.urgent.put((source, image, digest))
        self._wake.set()

    def submit_file(self, path: Path) -> None:
        while not self._stop.is_set():
            try:
                self.files.put(path, timeout=0.5)
                self._wake.set()
                return
            except queue.Full:
                self._wake.set()

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Finish the image in hand, drop the rest, and return once the thread has ended."""
        self._stop.set()
        self._wake.set()
        self.thread.join(timeout)

    # --- the worker thread ----------------------------------------------------
    def _run(self) -> None:
        try:
            self.captioner = self.factory()
            self.captioner.warm_up()
            self.model_id = f"{self.captioner.checkpoint.name}:beam{self.captioner.beam_size}"
        except Exception as e:
            self.failed = str(e)
            self.ready.set()
            return
        self.ready.set()
        while not self._stop.is_set():
            try:
                did = self._one_urgent() or self._file_batch()
            except Exception as e:      # never let one bad image silence the assistant
                self.log(f"Iris: could not describe that image ({type(e).__name__}: {e})")
                self.announce(Announcement("Sorry, that image could not be described."))
                continue
            if did:
                continue
            if self._burst.captions or self._burst.failures:
                wait = self._burst.last + self.settings["folders"]["burst_seconds"] - time.monotonic()
                if wait <= 0 and not self.folders_busy():
                    self._flush_burst()
                    continue
                self._wake.wait(timeout=max(wait, 0.1))
            else:
                self._wake.wait()
            self._wake.clear()

    def _caption_image(self, image: Image.Image, digest: str):
        """(text, score) from the history cache or the model."""
        if self.history and (hit := self.history.cached(digest, self.model_id)):
            return hit
        cap = self.captioner.caption([image])[0]
        return cap.text, cap.score

    def _spoken(self, text: str, score: float) -> str:
        return hedged(text, math.exp(score), self.settings["model"]["hedge_below"])

    def _one_urgent(self) -> bool:
        try:
            source, image, digest = self.urgent.get_nowait()
        except queue.Empty:
            return False
        digest = digest or image_hash(image)
        text, score = self._caption_image(image, digest)
        self._record(source, digest=digest, caption=text, score=score)
        spoken = self._spoken(text, score)
        self.log(f"[{source}] {spoken}")
        prefix = "Clipboard image: " if source == "clipboard" else ""
        self.announce(Announcement(prefix + spoken, interrupt=True))
        return True

    def _file_batch(self) -> bool:
        paths = []
        while len(paths) < FILE_BATCH:
            try:
                paths.append(self.files.get_nowait())
            except queue.Empty:
                break
        if not paths:
            return False
        todo = []
        for path in paths:
            try:
                image = open_image(path)
            except ImageError as e:
                self._file_failed(path, str(e))
                continue
            digest = image_hash(image)
            hit = self.history.cached(digest, self.model_id) if self.history else None
            todo.append((path, image, digest, hit))
        fresh = [t for t in todo if t[3] is None]
        try:
            captions = iter(self.captioner.caption([t[1] for t in fresh])) if fresh else iter(())
        except Exception as e:          # recorded per file, so nothing is lost silently
            for path, *_ in fresh:
                self._file_failed(path, f"{path}: could not be described ({type(e).__name__}: {e})")
            todo, captions = [t for t in todo if t[3] is not None], iter(())
        for path, image, digest, hit in todo:
            if hit is None:
                cap = next(captions)
                hit = cap.text, cap.score
            text, score = hit
            self._record("folder", path=path, digest=digest, caption=text, score=score)
            spoken = self._spoken(text, score)
            self.log(f"[folder] {path}: {spoken}")
            if self.settings["folders"]["write_sidecar"] and (problem := write_sidecar(path, text)):
                self.log(f"[folder] {problem}")
            self._burst.captions.append((path, spoken))
        self._burst.last = time.monotonic()
        return True

    def _file_failed(self, path: Path, reason: str) -> None:
        self.log(f"[folder] {reason}")
        self._record("folder", path=path, error=reason)
        self._burst.failures.append((path, reason))
        self._burst.last = time.monotonic()

    def _flush_burst(self) -> None:
        b, self._burst = self._burst, _Burst()
        n = len(b.captions)
        if n == 1:
            text = f"New photo: {b.captions[0][1]}."
        elif n > 1:
            text = f"{n} new photos; the first: {b.captions[0][1]}."
        else:
            text = ""
        if b.failures:
            k = len(b.failures)
            text += f" {k} new file{'s' if k > 1 else ''} could not be read."
        # A folder summary never cuts off a screen description being spoken.
        self.announce(Announcement(text.strip(), interrupt=False))

    def _record(self, source: str, **kw) -> None:
        if self.history:
            self.history.add(source, model=self.model_id, **kw)
