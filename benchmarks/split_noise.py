"""Is one model's BLEU-4 really ahead of another's? A paired bootstrap over the images of Flickr8k's val and
test splits (beam 3, decoded as Iris decodes, BLEU-4 from the COCO caption toolkit, model/metrics.py): both
models' captions of the same resampled images are scored, 200 times.

    .venv/bin/python benchmarks/split_noise.py --base LABEL=CHECKPOINT --other LABEL=CHECKPOINT [--output NAME.md]"""
import argparse
from pathlib import Path

import numpy as np

from common import split_features, two_cores, write_table

RESAMPLES = 200


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True, metavar="LABEL=CHECKPOINT")
    p.add_argument("--other", required=True, metavar="LABEL=CHECKPOINT")
    p.add_argument("--output", default="split_noise.md", help="results file name (one per comparison kept)")
    args = p.parse_args()
    two_cores()
    from model.evaluate import caption_features
    from model.metrics import bleu4

    models = dict(m.split("=", 1) for m in (args.base, args.other))
    base, other = models
    rng = np.random.default_rng(0)
    rows = []
    for split_name in ("val", "test"):
        hyps = {}
        for label, path in models.items():
            decoder, vocab, _, wanted, feats = split_features(Path(path), split_name)
            hyps[label] = caption_features(decoder, vocab, feats, 3)
        refs = [r["captions"] for r in wanted]

        def score(images, label):
            return 100 * bleu4([hyps[label][i] for i in images], [refs[i] for i in images])

        whole = {label: score(range(len(refs)), label) for label in models}
        diffs = []
        for _ in range(RESAMPLES):
            images = rng.integers(0, len(refs), len(refs))
            diffs.append(score(images, other) - score(images, base))
        rows.append([split_name, f"{whole[base]:.2f}", f"{whole[other]:.2f}", f"{whole[other] - whole[base]:+.2f}",
                     f"{np.percentile(diffs, 2.5):+.2f} to {np.percentile(diffs, 97.5):+.2f}",
                     f"{sum(d > 0 for d in diffs)} of {RESAMPLES}"])
    write_table(args.output, f"Paired bootstrap of BLEU-4 (beam 3) over each split's 1,000 images: {other} "
                f"against {base}.",
                ["split", f"BLEU-4, {base}", f"BLEU-4, {other}", "difference", "95 % of resamples",
                 f"resamples where {other} is ahead"], rows,
                notes="Steps are chosen on val; test is reported, never used to choose.")


if __name__ == "__main__":
    main()
