"""Captioning many images at once: files are read and prepared on one thread
while another encodes and decodes whole batches, joined by small bounded queues,
so memory stays flat however many files there are, and results come back in
input order.

Encoding and decoding share one thread on purpose: torch already spreads each
batch over every core, and two threads issuing torch work at once made each
wait on the other's thread pool (caption-folder ran at 0.8x a plain loop).

Each job is (key, load) where load() returns a PIL image or raises ImageError."""
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np
from PIL import Image

from assistant.images import ImageError, open_image
from model.captioner import Caption, Captioner

_DONE = object()


@dataclass
class Result:
    key: Any
    caption: Caption | None = None
    error: str | None = None
    image: Image.Image | None = None   # kept only when asked (attention plots, hashing)


def _pump(target: Callable, out: queue.Queue) -> threading.Thread:
    """Run a stage; an unexpected crash is passed downstream instead of hanging the pipeline."""
    def run():
        try:
            target()
        except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
            out.put(e)
    t = threading.Thread(target=run, daemon=True, name=f"iris-{target.__name__}")
    t.start()
    return t


def caption_jobs(captioner: Captioner, jobs: Iterable[tuple[Any, Callable[[], Image.Image]]], batch_size: int = 16,
                 beam_size: int | None = None, keep_images: bool = False) -> Iterator[Result]:
    loaded: queue.Queue = queue.Queue(maxsize=batch_size * 2)
    results: queue.Queue = queue.Queue(maxsize=batch_size * 4)

    def load():
        for key, loader in jobs:
            try:
                image = loader()
                item = (Result(key, image=image if keep_images else None), captioner.prepare(image))
            except ImageError as e:
                item = (Result(key, error=str(e)), None)
            loaded.put(item)
        loaded.put(_DONE)

    def caption():
        done = False
        while not done:
            batch, pixels = [], []
            while len(pixels) < batch_size:
                item = loaded.get()
                if item is _DONE:
                    done = True
                    break
                if isinstance(item, BaseException):
                    raise item
                result, image = item
                batch.append(result)
                if image is not None:
                    pixels.append(image)
            captions = iter(captioner.decode(captioner.encode(np.stack(pixels)), beam_size)) if pixels else None
            for r in batch:
                if r.error is None:
                    r.caption = next(captions)
                results.put(r)
        results.put(_DONE)

    _pump(load, loaded); _pump(caption, results)
    while True:
        item = results.get()
        if item is _DONE:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def caption_files(captioner: Captioner, paths, **kw) -> Iterator[Result]:
    return caption_jobs(captioner, ((p, (lambda p=p: open_image(p))) for p in paths), **kw)
