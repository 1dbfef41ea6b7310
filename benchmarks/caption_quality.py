"""Caption quality of each training recipe, on Flickr8k's val and test splits, beam 1 and 3, scored by the
COCO caption toolkit as the product decodes (no <unk>, no noun twice), with the training time on 2 cores.
Steps are chosen on val; test is reported beside it, never used to choose.

    .venv/bin/python benchmarks/caption_quality.py --model "LABEL=runs/x/best.pt" --minutes "LABEL=47.6" ...

Rows of models not named this time are kept from the last run (benchmarks/results/evaluation.json), so
a new stage is scored without re-scoring the old ones."""
import argparse
import json
from pathlib import Path

from common import RESULTS, two_cores, write_table

COLUMNS = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"]
NOTES = """Scores x100. Beam 3 is what Iris says. Training time: the stage's own epochs on 2 CPU cores (from its
log.jsonl), plus every stage before it; the encoder features (4.4 min, training.md) and the caption
sentence embeddings (contrastive rows) are computed once and cached, and are not in the column."""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", action="append", required=True, metavar="LABEL=CHECKPOINT")
    p.add_argument("--minutes", action="append", default=[], metavar="LABEL=MINUTES")
    p.add_argument("--splits", nargs="+", default=["val", "test"])
    p.add_argument("--beams", type=int, nargs="+", default=[1, 3])
    args = p.parse_args()
    two_cores()
    from model.evaluate import evaluate

    minutes = dict(m.split("=", 1) for m in args.minutes)
    store = RESULTS / "evaluation.json"
    rows = json.loads(store.read_text()) if store.exists() else []
    for label, path in (m.split("=", 1) for m in args.model):
        for split_name in args.splits:
            for r in evaluate({label: Path(path)}, beams=args.beams, split_name=split_name):
                rows = [o for o in rows if (o["model"], o["split"], o["beam"]) != (label, split_name, r["beam"])]
                rows.append({"model": label, "split": split_name, "beam": r["beam"],
                             "minutes": minutes.get(label, next((o["minutes"] for o in rows if o["model"] == label), "")),
                             **{c: r[c] for c in COLUMNS}})
    store.write_text(json.dumps(rows, indent=1) + "\n")
    order = {m: i for i, m in enumerate(dict.fromkeys(o["model"] for o in rows))}
    rows.sort(key=lambda o: (order[o["model"]], o["split"] != "val", o["beam"]))
    write_table("evaluation.md", "Flickr8k, 1,000 val and 1,000 test images, COCO caption toolkit (pycocoevalcap).",
                ["model", "split", "beam", *COLUMNS, "training (min, 2 cores)"],
                [[o["model"], o["split"], o["beam"], *(f"{o[c] * 100:.1f}" for c in COLUMNS), o["minutes"]]
                 for o in rows], notes=NOTES)


if __name__ == "__main__":
    main()
