"""Training cost on 2 cores: the one-time encoder feature extraction (timed here on a
sample of images and scaled to the data set) and seconds per decoder epoch on cached
features (from the logs of the runs that made the shipped model and the baseline). Writes results/training.md.

    .venv/bin/python benchmarks/training.py [--sample 400]
"""
import argparse
import json
import tempfile
import time

from common import ROOT, two_cores, write_table

FLICKR = ROOT.parent / "shared" / "data" / "flickr8k"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=400)
    args = ap.parse_args()
    two_cores()
    from model.data import load_captions
    from model.encoder import Encoder
    from model.features import cached_features
    names = [r["image"] for r in load_captions(FLICKR)]
    enc = Encoder("efficientnet_lite2", 9)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        cached_features(enc, FLICKR / "images", names[:args.sample], tmp)
        per_image = (time.perf_counter() - t) / args.sample
    rows = [["feature extraction, EfficientNet-Lite2 260 px (s per 1,000 images)", f"{per_image * 1000:.0f}"],
            [f"feature extraction, all {len(names)} images (min, scaled)", f"{per_image * len(names) / 60:.1f}"]]
    import torch
    from model.checkpoint import SHIPPED
    # The shipped checkpoint remembers the folder its run logged to.
    shipped_run = torch.load(SHIPPED, weights_only=True)["trained"]["config"]["out_dir"]
    for run, folder in (("attention", shipped_run), ("show_and_tell", "runs/show_and_tell")):
        log = ROOT / folder / "log.jsonl"
        if log.exists():
            epochs = [json.loads(line) for line in log.read_text().splitlines()]
            secs = sorted(e["seconds"] for e in epochs)
            rows.append([f"{run} decoder: seconds per epoch (median of {len(secs)}, 6,091 images x 5 captions)",
                         f"{secs[len(secs) // 2]:.0f}"])
            rows.append([f"{run} decoder: whole training (min)", f"{sum(secs) / 60:.1f}"])
    write_table("training.md", "Training cost on 2 CPU cores.", ["measure", "value"], rows)


if __name__ == "__main__":
    main()
