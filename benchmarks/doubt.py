"""Which signals tell a caption that names something not in the photo: each set is
fitted on the val split (logistic regression, as model/calibration.py does) and
scored on the test split, for the shipped model and the held-out-concept model.

Signals: the caption's mean log-probability per token and its total; the ImageNet
head's top probability and entropy; the cosine similarity of the photo's mean
feature to its nearest training photos (1 and the mean of 10), the usual
out-of-domain distance. Reported: ROC AUC on test, and the precision, recall and
share of "I can't tell" (doubt >= 0.5) on test.

    .venv/bin/python benchmarks/doubt.py [--heldout runs/heldout/best.pt] [--model LABEL=CHECKPOINT ...]

Beside them: the share of test captions that name something absent, and the share
said anyway (not "I can't tell"), since a model that errs more but knows when is
not worse for a listener.
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from common import RESULTS, ROOT, two_cores, write_table

SIGNALS = {
    "mean log-prob": [0],
    "mean + total log-prob (what Iris uses)": [0, 1],
    "+ classifier top probability and entropy": [0, 1, 2, 3],
    "+ distance to the training photos": [0, 1, 4, 5],
    "all": [0, 1, 2, 3, 4, 5],
}


def signals(checkpoint: Path, held_out: tuple) -> dict:
    """split -> (signals (n, 6), wrong (n,)) for val and test."""
    from model.calibration import log_prob_signals, val_outcomes
    from model.checkpoint import load_checkpoint
    from model.concepts import mentions
    from model.data import DEFAULT_DATA, load_captions, split
    from model.features import cached_features
    records = load_captions(DEFAULT_DATA)
    names = [r["image"] for r in records]
    index = {n: i for i, n in enumerate(names)}
    decoder, vocab, ckpt = load_checkpoint(checkpoint)
    encoder = ckpt.feature_encoder().for_inference()
    every = cached_features(encoder, DEFAULT_DATA / "images", names)

    def rows(recs):
        return torch.from_numpy(np.ascontiguousarray(every[[index[r["image"]] for r in recs]])).float()

    # The photos this model was trained on: a held-out model never saw its concepts' photos.
    train = [r for r in split(records, "train") if not any(mentions(c, held_out) for c in r["captions"])]
    bank = torch.nn.functional.normalize(rows(train).mean(1), dim=1)
    out = {}
    for name in ("val", "test"):
        recs = split(records, name)
        x = rows(recs)
        scores, words, wrong = val_outcomes(decoder, vocab, x, [r["captions"] for r in recs])
        with torch.inference_mode():
            p = encoder.classify(x)
            entropy = -(p * p.clamp_min(1e-12).log()).sum(1)
            near = (torch.nn.functional.normalize(x.mean(1), dim=1) @ bank.T).topk(10, dim=1).values
        out[name] = (np.c_[log_prob_signals(scores, words), p.max(1).values.numpy(), entropy.numpy(),
                           near[:, 0].numpy(), near.mean(1).numpy()], wrong)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--heldout", default=str(ROOT / "runs" / "heldout" / "best.pt"))
    ap.add_argument("--model", action="append", default=[], metavar="LABEL=CHECKPOINT",
                    help="another model to compare (repeatable)")
    args = ap.parse_args()
    two_cores()
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from model.calibration import ABSTAIN_AT
    from model.checkpoint import SHIPPED, read_checkpoint
    table = []
    models = [("shipped", SHIPPED), *((m.split("=", 1)[0], Path(m.split("=", 1)[1])) for m in args.model),
              ("held-out concepts", Path(args.heldout))]
    for label, path in models:
        if not path.exists():
            print(f"{path} not found; {label} left out")
            continue
        held_out = tuple((read_checkpoint(path).trained.get("config") or {}).get("held_out") or ())
        data = signals(path, held_out)
        (xv, yv), (xt, yt) = data["val"], data["test"]
        for name, cols in SIGNALS.items():
            fitted = LogisticRegression(max_iter=1000).fit(xv[:, cols], yv)     # as model/calibration.py fits
            doubt = fitted.predict_proba(xt[:, cols])[:, 1]
            said = doubt >= ABSTAIN_AT
            said_val = fitted.predict_proba(xv[:, cols])[:, 1] >= ABSTAIN_AT   # in-sample: as the model's own doubt
            table.append([label, name, f"{roc_auc_score(yt, doubt):.3f}",
                          f"{100 * yt[said].mean():.0f} %" if said.any() else "-",
                          f"{100 * (said & yt).sum() / max(1, yt.sum()):.0f} %", f"{100 * said.mean():.1f} %",
                          f"{100 * yt.mean():.1f} %", f"{100 * (yt & ~said).mean():.1f} %",
                          f"{100 * yv.mean():.1f} %", f"{100 * (yv & ~said_val).mean():.1f} %",
                          f"{100 * said_val.mean():.1f} %"])
            print(table[-1], flush=True)
    header = ["model", "signals", "ROC AUC", "'I can't tell': precision", "recall", "share of photos",
              "captions naming something absent", "... said anyway", "val: naming something absent",
              "val: said anyway", "val: 'I can't tell'"]
    scored = {row[0] for row in table}
    table += [row + [""] * (len(header) - len(row)) for row in kept_rows(RESULTS / "doubt.md") if row[0] not in scored]
    write_table("doubt.md", "Telling a caption that names something not in the photo (a person, animal or thing no "
                "reference mentions), Flickr8k: fitted on val, scored on the 1,000 test photos, beam 3. "
                "'I can't tell' = doubt of one half or more. The val columns apply the doubt to the photos it was "
                "fitted on, as each model's own calibration does. Rows of models not scored in the latest run "
                "are kept from the one before (their checkpoints may be gone); a blank cell was not measured then.",
                header, table)


def kept_rows(path: Path) -> list[list[str]]:
    """The table rows of an earlier doubt.md, as cells."""
    if not path.exists():
        return []
    lines = [l for l in path.read_text().splitlines() if l.startswith("| ")][1:]      # the first is the header
    return [[c.strip() for c in l.strip().strip("|").split(" | ")] for l in lines]


if __name__ == "__main__":
    main()
