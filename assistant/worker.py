"""The one captioning worker: loads the model once, then turns requests into results.

Screen and clipboard requests go ahead of a folder backlog; folder photos are
captioned a few at a time, so a key press never waits long. The worker writes no
sentences: each result goes, as plain facts, to its listeners (history, narrator,
sidecars). Only paths wait in its bounded file queue: a full queue blocks the folder
watcher, which keeps a burst of thousands of photos from piling up in memory."""
import queue
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

from assistant.events import CaptionWords, Failed, Request, Result
from assistant.history import image_hash
from assistant.images import ImageError, open_image
from assistant.ocr import Ocr
from assistant.problems import Problem, one_line
from assistant.seeing import Seer

FILE_BATCH = 8          # photos encoded together; small, so a hotkey press never waits long
FILE_QUEUE_LIMIT = 64   # back-pressure: the folder watcher blocks beyond this


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


class Worker:
    def __init__(self, captioner_factory: Callable, emit: Callable[[Result], None], cache=None,
                 ocr_factory: Callable = Ocr, on_ready: Callable = lambda captioner: None):
        """cache: anything with cached(digest, model) -> (caption, score, concepts, novelty) or None (the history).
        on_ready(captioner) runs on the worker thread once the model is loaded, before the first result."""
        self.factory, self.emit, self.cache, self.on_ready = captioner_factory, emit, cache, on_ready
        self.seer = Seer(self._caption, ocr_factory)
        self.urgent: queue.Queue = queue.Queue()
        self.files: queue.Queue = queue.Queue(maxsize=FILE_QUEUE_LIMIT)
        self.captioner = None
        self._ready = threading.Event()
        self._failed: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="iris-worker", daemon=True)

    # --- life cycle -------------------------------------------------------------
    def start(self) -> list[Problem]:
        """Start loading the model; requests submitted meanwhile wait for it."""
        self._thread.start()
        return []

    def wait_ready(self, timeout: float | None = None) -> str | None:
        """Block until the model is loaded; returns why it could not be, or None."""
        self._ready.wait(timeout)
        return self._failed

    def stop(self, timeout: float = 30) -> None:
        """Finish the image in hand, drop the rest, and return once the thread has ended."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # --- producers (any thread) -------------------------------------------------
    def submit(self, request: Request) -> None:
        """Screen and clipboard images go ahead; a file waits for room in the queue (back-pressure)."""
        if request.urgent:
            self.urgent.put(request)
            self._wake.set()
            return
        while not self._stop.is_set():
            try:
                self.files.put(request, timeout=0.5)
                self._wake.set()
                return
            except queue.Full:
                self._wake.set()

    @property
    def has_backlog(self) -> bool:
        return not self.files.empty()

    # --- the worker thread ------------------------------------------------------
    def _run(self) -> None:
        try:
            self.captioner = self.factory()
            self.captioner.warm_up()
            self.on_ready(self.captioner)
        except Exception as e:   # noqa: BLE001 - the service says why and stops
            self._failed = str(e) or type(e).__name__
            return
        finally:
            self._ready.set()
        while not self._stop.is_set():
            if not (self._one_urgent() or self._file_batch()):
                self._wake.wait()
                self._wake.clear()

    def _caption(self, images: list, digests: list) -> list[CaptionWords]:
        """The model's words for each image, from the cache where the same model saw the same pixels.
        Images arrive with their pixel hash when the caller has one; only the rest (screen regions) are hashed."""
        key = self.captioner.words_key
        found = [self.cache.cached(d or image_hash(im), key) for im, d in zip(images, digests)] if self.cache \
            else [None] * len(images)
        fresh = [i for i, hit in enumerate(found) if hit is None]
        if fresh:
            for i, cap in zip(fresh, self.captioner.caption([images[i] for i in fresh])):
                found[i] = CaptionWords.of(cap)
        return found

    def _one_urgent(self) -> bool:
        try:
            r = self.urgent.get_nowait()
        except queue.Empty:
            return False
        digest = r.digest or image_hash(r.image)
        try:
            self.emit(self._stamped(self.seer.see(r.image, r, digest)))
        except Exception as e:      # noqa: BLE001 - never let one bad image silence the assistant
            self.emit(Failed(r.source, f"could not be described ({one_line(e)})"))
        return True

    def _stamped(self, event):
        """A Described event names the model that wrote its words (the history cache's key)."""
        return replace(event, model=self.captioner.words_key) if hasattr(event, "model") else event

    def _file_batch(self) -> bool:
        requests = []
        while len(requests) < FILE_BATCH:
            try:
                requests.append(self.files.get_nowait())
            except queue.Empty:
                break
        if not requests:
            return False
        opened = []                                   # (image, request, digest, mtime)
        for r in requests:
            mtime = _mtime_ns(r.path)
            try:
                image = open_image(r.path)
            except ImageError as e:
                self.emit(Failed(r.source, e.reason, r.path, mtime))
                continue
            opened.append((image, r, image_hash(image), mtime))
        try:
            events = self.seer.see_many(opened)
        except Exception:           # noqa: BLE001 - one image broke the batch: find it, keep the rest
            events = []
            for item in opened:
                try:
                    events.append(self.seer.see(*item))
                except Exception as e:   # noqa: BLE001 - reported for this file alone
                    events.append(Failed(item[1].source, f"could not be described ({one_line(e)})", item[1].path,
                                         item[3]))
        for event in events:
            self.emit(self._stamped(event))
        return True
