"""Is one model's BLEU-4 really ahead of another's? A paired bootstrap over the images of Flickr8k's val and
test splits (beam 3, decoded as Iris decodes, BLEU-4 from the COCO caption toolkit's own scorer): both
models' captions of the same resampled images are scored, 200 times.

    .venv/bin/python benchmarks/split_noise.py --base LABEL=CHECKPOINT --other LABEL=CHECKPOINT"""
import argparse
from pathlib import Path

import numpy as np

from common import two_cores, write_table

RESAMPLES = 200


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True, metavar="LABEL=CHECKPOINT")
    p.add_argument("--other", required=True, metavar="LABEL=CHECKPOINT")
    args = p.parse_args()
    two_cores()
    from pycocoevalcap.bleu.bleu_scorer import BleuScorer
    from model.data import DEFAULT_DATA, load_captions, split
    from model.evaluate import caption_features
    from model.checkpoint import load_checkpoint
    from model.encoder import Encoder
    from model.features import cached_features
    from model.vocabulary import tokenize

    models = dict(m.split("=", 1) for m in (args.base, args.other))
    records = load_captions(DEFAULT_DATA)
    names = [r["image"] for r in records]
    index = {n: i for i, n in enumerate(names)}
    rng = np.random.default_rng(0)
    rows = []
    for split_name in ("val", "test"):
        wanted = split(records, split_name)
        refs = [[" ".join(tokenize(c)) for c in r["captions"]] for r in wanted]
        hyps = {}
        for label, path in models.items():
            decoder, vocab, ckpt = load_checkpoint(Path(path))
            feats = cached_features(Encoder(ckpt.encoder_name, ckpt.grid).for_inference(), DEFAULT_DATA / "images",
                                    names)[[index[r["image"]] for r in wanted]]
            hyps[label] = [" ".join(tokenize(h)) for h in caption_features(decoder, vocab, feats, 3)]

        def bleu4(images, label):
            scorer = BleuScorer(n=4)
            for i in images:
                scorer += (hyps[label][i], refs[i])
            return 100 * scorer.compute_score(option="closest")[0][3]

        base, other = models
        whole = {label: bleu4(range(len(refs)), label) for label in models}
        diffs = []
        for _ in range(RESAMPLES):
            images = rng.integers(0, len(refs), len(refs))
            diffs.append(bleu4(images, other) - bleu4(images, base))
        rows.append([split_name, f"{whole[base]:.2f}", f"{whole[other]:.2f}", f"{whole[other] - whole[base]:+.2f}",
                     f"{np.percentile(diffs, 2.5):+.2f} to {np.percentile(diffs, 97.5):+.2f}",
                     f"{sum(d > 0 for d in diffs)} of {RESAMPLES}"])
    write_table("split_noise.md", f"Paired bootstrap of BLEU-4 (beam 3) over each split's 1,000 images: {other} "
                f"against {base}.",
                ["split", f"BLEU-4, {base}", f"BLEU-4, {other}", "difference", "95 % of resamples",
                 f"resamples where {other} is ahead"], rows,
                notes="Steps are chosen on val; test is reported, never used to choose.")


if __name__ == "__main__":
    main()
