"""Captioning many images at once: files are read and prepared on one thread while
captioning workers encode and decode whole batches, joined by small bounded queues,
so memory stays flat however many files there are, and results come back in input
order.

With one worker, it uses all of torch's threads; that is best for a few images. For
many, there is one worker per torch thread, each single-threaded: two 1-thread workers
caption more images a second than one 2-thread worker
(benchmarks/results/folder_throughput.md), and they never wait on each other's thread
pool, as two 2-thread workers did.

Each image is routed as the assistant routes it (assistant/seeing.py): photos are
captioned in whole batches; a blank image is called blank; a screenshot or page has
its text read and its photo regions captioned. The cheap look (no model) happens on
the loading thread.

Each job is (key, load) where load() returns a PIL image or raises ImageError."""
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
from PIL import Image

from assistant.events import Described, Request
from assistant.images import ImageError, open_image
from assistant.layout import main_colours
from assistant.ocr import Ocr
from assistant.seeing import Seer, captioner_words, look
from model.captioner import Caption, Captioner

_DONE = object()
ENCODE_CHUNK = 2    # images per encoder call: on a CPU, larger batches only add cache misses (encoder_layout.md)


@dataclass
class Result:
    key: Any
    event: Any = None                  # Described, Blank or ScreenRead (assistant/events.py)
    caption: Caption | None = None     # the model's Caption of a whole photo (attention plots)
    error: str | None = None           # why it could not be read (ImageError.reason, without the path)
    image: Image.Image | None = None   # kept only when asked (attention plots), and for pages until read
    look: Any = None
    colours: tuple | None = None       # a photo's main colours, taken while its image is at hand
    load: Callable[[], Image.Image] | None = None   # reads a photo again, if it turns out to be a photographed page


class _Stages:
    """The threads of one run, and the queues between them. When the caller stops early (an error, or
    it closes the iterator) every thread sees `stop` within a tenth of a second and ends: none is left
    blocked on a queue, or still inside torch when the interpreter exits (that aborts the process)."""

    def __init__(self):
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def put(self, q: queue.Queue, item) -> None:
        while not self.stop.is_set():
            try:
                return q.put(item, timeout=0.1)
            except queue.Full:
                pass

    def get(self, q: queue.Queue):
        while not self.stop.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                pass
        return _DONE

    def start(self, target: Callable, out: queue.Queue, name: str) -> None:
        """Run a stage; an unexpected crash is passed downstream instead of hanging the pipeline."""
        def run():
            try:
                target()
            except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
                self.put(out, e)
        t = threading.Thread(target=run, daemon=True, name=f"iris-{name}")
        t.start()
        self.threads.append(t)

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def caption_jobs(captioner: Captioner, jobs: Iterable[tuple[Any, Callable[[], Image.Image]]], batch_size: int = 16,
                 beam_size: int | None = None, keep_images: bool = False, workers: int = 1) -> Iterator[Result]:
    batches: queue.Queue = queue.Queue(maxsize=2 * workers)     # (index, results, pixels) ready to caption
    results: queue.Queue = queue.Queue(maxsize=2 * workers)     # (index, results) captioned, any order
    stages = _Stages()

    def load():
        index, batch, pixels = 0, [], []
        for key, loader in jobs:
            if stages.stop.is_set():
                return
            try:
                image = loader()
                lk = look(image, Request("file", path=key))
                if lk.kind == "photo":
                    pixels.append(captioner.prepare(image))
                batch.append(Result(key, image=image if keep_images or lk.kind == "page" else None, look=lk,
                                    colours=main_colours(image) if lk.kind == "photo" else None,
                                    load=loader if lk.kind == "photo" else None))
            except ImageError as e:
                batch.append(Result(key, error=e.reason))
            if len(batch) == batch_size:
                stages.put(batches, (index, batch, pixels))
                index, batch, pixels = index + 1, [], []
        if batch:
            stages.put(batches, (index, batch, pixels))
        for _ in range(workers):
            stages.put(batches, _DONE)

    seer = Seer(captioner_words(captioner, beam_size), Ocr)

    def caption():
        if workers > 1:
            torch.set_num_threads(1)
        while (item := stages.get(batches)) is not _DONE:
            index, batch, pixels = item
            if pixels:
                features = torch.cat([captioner.encode(np.stack(pixels[i:i + ENCODE_CHUNK]))
                                      for i in range(0, len(pixels), ENCODE_CHUNK)])
                captions = iter(captioner.decode(features, beam_size))
            for r in batch:
                if r.error is not None:
                    continue
                request = Request("file", path=r.key)
                if r.look.kind == "photo":
                    r.caption = next(captions)
                    r.event = Described("file", r.caption.text, r.caption.score, r.key, concepts=r.caption.concepts,
                                        novelty=r.caption.novelty, colours=r.colours, support=r.caption.support,
                                        shorter=r.caption.shorter)
                    # Rarely a photographed page: read from the file again, as a photo's image is not kept.
                    if page := seer.page_in_photo(r.caption, r.image or r.load, request, {"path": r.key}):
                        r.event, r.caption = page, None       # no attention plot of words not said
                else:
                    r.event = seer.finish(r.image, request, None, None, r.look)
                    r.image = r.image if keep_images else None
            stages.put(results, (index, batch))
        stages.put(results, _DONE)

    threads = torch.get_num_threads()
    stages.start(load, results, "load")      # a crash while loading goes straight to the caller
    for n in range(workers):
        stages.start(caption, results, f"caption-{n}")
    try:
        waiting, next_index, running = {}, 0, workers
        while running:
            item = results.get()
            if item is _DONE:
                running -= 1
                continue
            if isinstance(item, BaseException):
                raise item
            waiting[item[0]] = item[1]
            while next_index in waiting:        # a later batch may finish first: hold it until its turn
                yield from waiting.pop(next_index)
                next_index += 1
    finally:
        stages.close()
        torch.set_num_threads(threads)


def caption_files(captioner: Captioner, paths: list, batch_size: int = 16, **kw) -> Iterator[Result]:
    """One worker per torch thread when there are at least two batches for each to do, else one."""
    workers = torch.get_num_threads() if len(paths) >= 2 * batch_size * torch.get_num_threads() else 1
    return caption_jobs(captioner, ((p, (lambda p=p: open_image(p))) for p in paths), batch_size=batch_size,
                        workers=workers, **kw)
