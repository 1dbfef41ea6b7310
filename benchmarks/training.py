"""Training cost on 2 cores: the one-time encoder feature extraction (timed here on a
sample of images and scaled to the data set) and seconds per decoder epoch on cached
features (from the logs of the runs that made the shipped model, stage by stage, and the baseline). Writes results/training.md.

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
    from model.checkpoint import SHIPPED, read_checkpoint
    from model.data import load_captions
    from model.features import cached_features
    names = [r["image"] for r in load_captions(FLICKR)]
    shipped = read_checkpoint(SHIPPED)
    enc = shipped.feature_encoder()   # what the shipped recipe caches: below the top, when the top is tuned
    what = "below the top" if enc.before_top else "whole encoder"
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        cached_features(enc, FLICKR / "images", names[:args.sample], tmp)
        per_image = (time.perf_counter() - t) / args.sample
    rows = [[f"feature extraction, EfficientNet-Lite2 260 px, {what} (s per 1,000 images)", f"{per_image * 1000:.0f}"],
            [f"feature extraction, all {len(names)} images (min, scaled)", f"{per_image * len(names) / 60:.1f}"]]
    # The shipped checkpoint remembers the folders its stages logged to.
    trained = shipped.trained
    runs = [("attention decoder" + (" with its tuned top" if trained["config"].get("tune_top") else ""),
             trained["config"]["out_dir"])]
    # A model soup records each self-critical run it averages; each is a stage of the recipe.
    for scst in trained.get("soup") or [trained.get("scst") or {}]:
        config = scst.get("config", {})
        reward = f"CIDEr-D + {config['meteor_weight']:g} x METEOR" if config.get("meteor_weight") else "CIDEr-D"
        runs.append((f"self-critical stage ({reward})", config.get("out_dir")))
    recipe = 0.0
    for run, folder in runs + [("show_and_tell decoder", "runs/show_and_tell")]:
        log = ROOT / folder / "log.jsonl" if folder else None
        if log and log.exists():
            epochs = [json.loads(line) for line in log.read_text().splitlines()]
            secs = sorted(e["seconds"] for e in epochs)
            rows.append([f"{run}: seconds per epoch (median of {len(secs)}, 6,091 images x 5 captions)",
                         f"{secs[len(secs) // 2]:.0f}"])
            rows.append([f"{run}: whole stage (min)", f"{sum(secs) / 60:.1f}"])
            recipe += sum(secs) / 60 if (run, folder) in runs else 0
    rows.append(["the shipped recipe from raw images: features and every stage above but the baseline (min)",
                 f"{per_image * len(names) / 60 + recipe:.1f}"])
    write_table("training.md", "Training cost on 2 CPU cores.", ["measure", "value"], rows)


if __name__ == "__main__":
    main()
