"""Encoder speed by memory layout and batch size on 2 CPU cores.

The shipped encoder runs channels-last (model/encoder.py); this measures why, and
how the cost per image varies with batch size. Each cell is the median of 9
timed batches after 2 warm-up batches, in milliseconds per image. Writes
benchmarks/results/encoder_layout.md.

    .venv/bin/python benchmarks/encoder_layout.py [--encoder efficientnet_lite2]
"""
import argparse

import torch

from common import ms_per_image, two_cores, write_table  # noqa: E402 (puts the project on sys.path)
from model.encoder import Encoder  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="efficientnet_lite2")
    args = ap.parse_args()
    two_cores()
    enc = Encoder(args.encoder).eval()
    size = enc.spec.image_size
    rows = []
    for batch in (1, 2, 4, 8, 16, 32):
        x = torch.randn(batch, 3, size, size)
        enc.cnn.to(memory_format=torch.contiguous_format)
        default = ms_per_image(enc.cnn.forward_features, x)
        enc.cnn.to(memory_format=torch.channels_last)
        last = ms_per_image(enc.cnn.forward_features, x.contiguous(memory_format=torch.channels_last))
        rows.append([batch, f"{default:.1f}", f"{last:.1f}", f"{default / last:.2f}x"])
        print(rows[-1], flush=True)
    write_table("encoder_layout.md", f"{args.encoder} ({size}px) on 2 CPU cores, ms per image (median of 9 batches)",
                ["batch", "default layout (NCHW)", "channels-last (NHWC)", "speed-up"], rows)


if __name__ == "__main__":
    main()
