"""Encoder speed on 2 CPU cores: memory layout, folded batch norms, batch size, and
one 2-thread forward against two 1-thread forwards side by side.

The shipped encoder runs channels-last with its batch norms folded (model/encoder.py),
and caption-folder runs one 1-thread worker per core (assistant/pipeline.py); this
measures why. Each cell is the median of 9 timed batches after 2 warm-up batches,
in milliseconds per image. Writes benchmarks/results/encoder_layout.md.

    .venv/bin/python benchmarks/encoder_layout.py [--encoder efficientnet_lite2]
"""
import argparse
import statistics
import threading
import time

import torch

from common import ms_per_image, two_cores, write_table  # noqa: E402 (puts the project on sys.path)
from model.encoder import Encoder  # noqa: E402


def two_workers_ms_per_image(model, x, repeats: int = 9) -> float:
    """Two threads, one intra-op thread each, each running model(x): wall ms per image of the pair."""
    def work():
        torch.set_num_threads(1)
        with torch.inference_mode():
            model(x)

    times = []
    for i in range(repeats + 2):
        workers = [threading.Thread(target=work) for _ in range(2)]
        t = time.perf_counter()
        [w.start() for w in workers]
        [w.join() for w in workers]
        if i >= 2:
            times.append((time.perf_counter() - t) * 1000 / (2 * len(x)))
    torch.set_num_threads(2)    # the workers' setting is process-wide: back to two for the next cell
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="efficientnet_lite2")
    args = ap.parse_args()
    two_cores()
    plain, folded = Encoder(args.encoder).eval(), Encoder(args.encoder).for_inference()
    size = plain.spec.image_size
    rows = []
    for batch in (1, 2, 4, 8, 16):
        x = torch.randn(batch, 3, size, size)
        xl = x.contiguous(memory_format=torch.channels_last)
        plain.cnn.to(memory_format=torch.contiguous_format)
        nchw = ms_per_image(plain.cnn.forward_features, x)
        plain.cnn.to(memory_format=torch.channels_last)
        nhwc = ms_per_image(plain.cnn.forward_features, xl)
        fold = ms_per_image(folded.cnn.forward_features, xl)
        pair = two_workers_ms_per_image(folded.cnn.forward_features, xl)
        rows.append([batch, f"{nchw:.1f}", f"{nhwc:.1f}", f"{fold:.1f}", f"{pair:.1f}"])
        print(rows[-1], flush=True)
    write_table("encoder_layout.md", f"{args.encoder} ({size}px) on 2 CPU cores, ms per image (median of 9 batches)",
                ["batch", "default layout (NCHW)", "channels-last (NHWC)", "NHWC, batch norms folded",
                 "folded, two 1-thread workers side by side"], rows)


if __name__ == "__main__":
    main()
