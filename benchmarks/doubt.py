"""Which signals tell a caption that names something not in the photo: each set is
fitted on the val split (logistic regression, as model/calibration.py does) and
scored on the test split, for the shipped model and the held-out-concept model.

Signals: the caption's mean log-probability per token and its total; the ImageNet
head's top probability and entropy; the cosine similarity of the photo's mean
feature to its nearest training photos (1 and the mean of 10), the usual
out-of-domain distance; the caption's support, the presence probes' chance of the
least likely thing it names (model/presence.py, fitted on the model's own training
photos as calibration fits them). Reported: ROC AUC on test, and the precision, recall and
share of "I can't tell" (doubt >= 0.5) on test.

    .venv/bin/python benchmarks/doubt.py [--heldout runs/heldout/best.pt] [--model LABEL=CHECKPOINT ...]

Beside them: the share of test captions that name something absent, and the share
said anyway (not "I can't tell"), since a model that errs more but knows when is
not worse for a listener.

A second table compares models at equal silence: each model's own doubt silences the
same share of photos as the shipped model's does on val, so a model cannot look more
honest only by saying "I can't tell" more often. The difference from the shipped
model comes with a paired bootstrap interval (the same photos, resampled together).
"""
import argparse
import itertools
from pathlib import Path

import numpy as np
import torch

from common import RESULTS, ROOT, two_cores, write_table

SIGNALS = {
    "mean log-prob": [0],
    "mean + total log-prob": [0, 1],
    "+ classifier top probability and entropy": [0, 1, 2, 3],
    "+ distance to the training photos": [0, 1, 4, 5],
    "+ presence support": [0, 1, 6],
    "all": [0, 1, 2, 3, 4, 5, 6],
    # The larger of the log-probabilities' doubt and the presence support's (model/calibration.py).
    "the larger of mean + total log-prob and + presence support (what Iris uses)": ([0, 1], [0, 1, 6]),
}
IRIS, BEFORE = "the larger of mean + total log-prob and + presence support (what Iris uses)", "mean + total log-prob"


def signals(checkpoint: Path, held_out: tuple) -> dict:
    """split -> (signals (n, 7), wrong (n,)) for val and test."""
    from model import presence as probes
    from model.calibration import log_prob_signals, support_signal, val_outcomes
    from model.checkpoint import load_checkpoint
    from model.concepts import _wordnet, mentions, thing_noun
    from model.familiarity import pooled
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
    own = encoder.own if ckpt.decoder.top_of else None
    present = probes.fit(pooled(rows(train).numpy(), through=own), [r["captions"] for r in train], vocab.itos,
                         thing_noun(_wordnet()))
    out = {}
    for name in ("val", "test"):
        recs = split(records, name)
        x = rows(recs)
        scores, words, wrong, support = val_outcomes(decoder, vocab, x, [r["captions"] for r in recs], present,
                                                     pooled(x.numpy(), through=own))
        with torch.inference_mode():
            p = encoder.classify(x)
            entropy = -(p * p.clamp_min(1e-12).log()).sum(1)
            near = (torch.nn.functional.normalize(x.mean(1), dim=1) @ bank.T).topk(10, dim=1).values
        out[name] = (np.c_[log_prob_signals(scores, words), p.max(1).values.numpy(), entropy.numpy(),
                           near[:, 0].numpy(), near.mean(1).numpy(), support_signal(support)], wrong)
    return out


def said_at(doubt: np.ndarray, wrong: np.ndarray, silent: float) -> float:
    """The share of photos said with a false subject when the most doubtful `silent` share is not said."""
    said = np.ones(len(doubt), bool)
    said[np.argsort(-doubt, kind="stable")[:round(silent * len(doubt))]] = False
    return float((wrong & said).mean())


def paired_interval(a: tuple, b: tuple, silent: float, draws: int = 1000) -> tuple[float, float]:
    """95 % interval of said_at(a) - said_at(b) over photos resampled together (a and b: (doubt, wrong))."""
    rng = np.random.default_rng(0)
    n = len(a[0])
    diffs = [said_at(a[0][i], a[1][i], silent) - said_at(b[0][i], b[1][i], silent)
             for i in (rng.integers(0, n, n) for _ in range(draws))]
    return float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def equal_silence_rows(iris: dict) -> list[list[str]]:
    """iris: label -> {split: (doubt, wrong)} with the doubt Iris uses; the shipped model first."""
    from model.calibration import ABSTAIN_AT
    base = iris["shipped"]
    silent = float((base["val"][0] >= ABSTAIN_AT).mean())
    rows = []
    for label, got in iris.items():
        row = [label, f"{100 * silent:.1f} %"]
        for name in ("val", "test"):
            said = said_at(*got[name], silent)
            cell = f"{100 * said:.1f} %"
            if label != "shipped":
                lo, hi = paired_interval(got[name], base[name], silent)
                cell += f" ({100 * (said - said_at(*base[name], silent)):+.1f}; 95 %: {100 * lo:+.1f} to {100 * hi:+.1f})"
            row.append(cell)
        rows.append(row)
    return rows


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
    table, iris = [], {}
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
            doubt, doubt_val = np.zeros(len(yt)), np.zeros(len(yv))
            for part in cols if isinstance(cols, tuple) else (cols,):
                fitted = LogisticRegression(max_iter=1000).fit(xv[:, part], yv)     # as model/calibration.py fits
                doubt = np.maximum(doubt, fitted.predict_proba(xt[:, part])[:, 1])
                doubt_val = np.maximum(doubt_val, fitted.predict_proba(xv[:, part])[:, 1])   # in-sample, as its own
            said, said_val = doubt >= ABSTAIN_AT, doubt_val >= ABSTAIN_AT
            if name == IRIS:
                iris[label] = {"val": (doubt_val, yv.astype(bool)), "test": (doubt, yt.astype(bool))}
            if name == BEFORE and label == "shipped":
                before = {"val": (doubt_val, yv.astype(bool)), "test": (doubt, yt.astype(bool))}
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
    # Kept rows were scored when the log-probabilities alone were what Iris used.
    table += [[row[0], row[1].replace(" (what Iris uses)", "")] + row[2:] + [""] * (len(header) - len(row))
              for row in kept_rows(RESULTS / "doubt.md") if row[0] not in scored]
    write_table("doubt.md", "Telling a caption that names something not in the photo (a person, animal or thing no "
                "reference mentions), Flickr8k: fitted on val, scored on the 1,000 test photos, beam 3. "
                "'I can't tell' = doubt of one half or more. The val columns apply the doubt to the photos it was "
                "fitted on, as each model's own calibration does. Rows of models not scored in the latest run "
                "are kept from the one before (their checkpoints may be gone); a blank cell was not measured then. "
                "Rows kept from before 2026-11-25 were scored when 'people' and 'men' did not yet count as naming "
                "a person, so a caption naming people beside references that say only those words was wrong.",
                header, table)
    if "shipped" in iris:
        iris = {"shipped": iris["shipped"], "shipped, its doubt without the presence support (until now)": before,
                **{k: v for k, v in iris.items() if k != "shipped"}}
        write_table("doubt.md", "At equal silence: each model's own doubt (what Iris uses) silences the share of "
                    "photos that the shipped model's silences on val, its most doubtful first; then the share of "
                    "photos said with a false subject. In brackets: the difference from the shipped model, in "
                    "points, with a paired bootstrap 95 % interval (1,000 resamples of the same photos). Only "
                    "the models scored in the latest run.",
                    ["model", "silenced", "val: said with a false subject", "test: said with a false subject"],
                    equal_silence_rows(iris), append=True)


def kept_rows(path: Path) -> list[list[str]]:
    """The table rows of an earlier doubt.md, as cells."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("| ")), len(lines))
    table = list(itertools.takewhile(lambda l: l.startswith("|"), lines[start:]))       # the first table only
    lines = [l for l in table if l.startswith("| ")][1:]                                # [0]: its header
    return [[c.strip() for c in l.strip().strip("|").split(" | ")] for l in lines]


if __name__ == "__main__":
    main()
