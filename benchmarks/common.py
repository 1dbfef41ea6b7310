"""Helpers shared by the benchmark scripts: a results table written beside them, and CPU limits."""
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))


def two_cores() -> None:
    """Run on 2 cores, as the targets are stated, whatever this machine has."""
    import torch
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 2:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:2]))
    torch.set_num_threads(2)


def split_features(checkpoint, split_name: str):
    """(decoder, vocabulary, encoder, the split's records, their features from the full cache)."""
    from model.checkpoint import load_checkpoint
    from model.data import DEFAULT_DATA, load_captions, split
    from model.features import cached_features
    records = load_captions(DEFAULT_DATA)
    wanted = split(records, split_name)
    decoder, vocab, ckpt = load_checkpoint(checkpoint)
    encoder = ckpt.feature_encoder().for_inference()
    names = [r["image"] for r in records]
    index = {n: i for i, n in enumerate(names)}
    feats = cached_features(encoder, DEFAULT_DATA / "images", names)[[index[r["image"]] for r in wanted]]
    return decoder, vocab, encoder, wanted, feats


def percentile(values, q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def median(values) -> float:
    return statistics.median(values)


def ms_per_image(model, x, repeats: int = 9) -> float:
    """Median milliseconds per image of model(x) over `repeats` timed calls, after 2 warm-up calls."""
    import time
    import torch
    times = []
    with torch.inference_mode():
        model(x), model(x)
        for _ in range(repeats):
            t = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t) * 1000 / len(x))
    return statistics.median(times)


def write_table(name: str, title: str, header: list[str], rows: list[list], notes: str = "",
                append: bool = False) -> str:
    lines = [title, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    text = "\n".join(lines) + "\n" + (f"\n{notes}\n" if notes else "")
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    old = (RESULTS / name).read_text() + "\n" if append and (RESULTS / name).exists() else ""
    (RESULTS / name).write_text(old + text)
    return text


def private_display(screen: str = "1280x800x24"):
    """A private Xvfb that DISPLAY points at from now on; returns its process (terminate it when done)."""
    from tests import xvfb
    proc, name = xvfb.start_xvfb(screen)
    if proc is None:
        sys.exit(name)
    os.environ["DISPLAY"] = name
    return proc
