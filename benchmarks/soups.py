"""Which models to average (model/soup.py), chosen on Flickr8k's val split: each mix of models trained
from one cross-entropy start, weights averaged, scored at beam 3 as the product decodes. A model named
twice in a mix counts twice.

    .venv/bin/python benchmarks/soups.py --model "ce=runs/x/best.pt" --model "cider=runs/x/scst/best.pt" \\
        --mix cider --mix cider+ce --mix cider+cider+ce
"""
import argparse
import tempfile
from pathlib import Path

from common import two_cores, write_table

COLUMNS = ["BLEU-4", "METEOR", "CIDEr"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", action="append", required=True, metavar="NAME=CHECKPOINT")
    p.add_argument("--mix", action="append", required=True, metavar="NAME+NAME...")
    p.add_argument("--split", default="val")
    p.add_argument("--about", default="", help="what the named models are, for the table's notes")
    args = p.parse_args()
    two_cores()
    from model.evaluate import evaluate
    from model.soup import average

    models = dict(m.split("=", 1) for m in args.model)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mix in args.mix:
            names = mix.split("+")
            path = Path(models[names[0]]) if len(names) == 1 else \
                average([models[n] for n in names], Path(tmp) / "soup.pt")
            (r,) = evaluate({mix: path}, beams=(3,), split_name=args.split, log=lambda *a: None)
            rows.append([mix.replace("+", " + "), *(f"{r[c] * 100:.2f}" for c in COLUMNS)])
            print(rows[-1], flush=True)
    write_table("soup.md", f"Model soups on Flickr8k's {args.split} split (1,000 images), beam 3, COCO caption toolkit: "
                           "the weights of the models named averaged, a model named twice counting twice.",
                ["models averaged", *COLUMNS], rows,
                notes=(args.about + " " if args.about else "") +
                "Files: " + "; ".join(f"{n} = {p}" for n, p in models.items()) + ".")


if __name__ == "__main__":
    main()
