"""Scores on the held-out test split with the COCO caption toolkit, as a table."""
import time
from pathlib import Path

import numpy as np
import torch

from model.checkpoint import load_checkpoint
from model.data import DEFAULT_DATA, load_captions, split
from model.features import DEFAULT_CACHE, cached_features, existing_features
from model.metrics import coco_scores
from model.concepts import noun_groups
from model.search import decode, never_said

COLUMNS = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"]


def caption_features(decoder, vocab, feats: np.ndarray, beam: int, chunk: int = 200) -> list[str]:
    out = []
    for i in range(0, len(feats), chunk):
        x = torch.from_numpy(np.ascontiguousarray(feats[i:i + chunk])).float()
        nouns = noun_groups(vocab.itos)
        found = decode(decoder, x, vocab.start, vocab.end, beam, banned=never_said(vocab),      # as the product decodes
                       nouns=torch.tensor(nouns) if nouns else None)
        out += [vocab.decode(d.ids) for d in found]
    return out


def evaluate(checkpoints: dict[str, Path], beams=(1, 3), data_dir=DEFAULT_DATA, cache_dir=DEFAULT_CACHE,
             split_name: str = "test", limit: int = 0, log=print) -> list[dict]:
    records = load_captions(data_dir)
    wanted = split(records, split_name)
    if limit:
        wanted = wanted[:limit]
    rows = []
    for label, path in checkpoints.items():
        decoder, vocab, ckpt = load_checkpoint(path)
        encoder = ckpt.feature_encoder()
        # The full cache that training built, when there is one; otherwise only the images scored here.
        names = [r["image"] for r in records]
        feats = existing_features(encoder, names, cache_dir)
        if feats is None:
            names = [r["image"] for r in wanted]
            feats = cached_features(encoder, Path(data_dir) / "images", names, cache_dir, log=log)
        index = {n: i for i, n in enumerate(names)}
        feats = feats[[index[r["image"]] for r in wanted]]
        for beam in beams:
            t = time.time()
            hyps = caption_features(decoder, vocab, feats, beam)
            scores = coco_scores(hyps, [r["captions"] for r in wanted])
            rows.append({"model": label, "beam": beam, **scores, "images": len(wanted),
                         "examples": list(zip([r["image"] for r in wanted[:5]], hyps[:5]))})
            log(f"{label} beam {beam}: BLEU-4 {scores['BLEU-4'] * 100:.2f}  METEOR {scores['METEOR'] * 100:.2f}  "
                f"CIDEr {scores['CIDEr'] * 100:.1f}  ({time.time() - t:.0f}s)")
    return rows


def table(rows: list[dict], split_name: str = "test", kept: list[str] = ()) -> str:
    """The scores as a markdown table; `kept` are earlier rows (lines) of models and beams not re-scored."""
    lines = [f"Flickr8k {split_name} split ({rows[0]['images']} images), scores x100, COCO caption toolkit (pycocoevalcap).",
             "", "| model | beam | " + " | ".join(COLUMNS) + " |", "|---|---|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append(f"| {r['model']} | {r['beam']} | " + " | ".join(f"{r[c] * 100:.1f}" for c in COLUMNS) + " |")
    return "\n".join(lines + list(kept)) + "\n"


def rows_not_rescored(old_text: str, rows: list[dict]) -> list[str]:
    """Table rows of an earlier file whose (model, beam) this run did not score: kept, not lost."""
    scored = {(r["model"], str(r["beam"])) for r in rows}
    kept = []
    for line in old_text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 2 + len(COLUMNS) and cells[0] != "model" \
                and (cells[0], cells[1]) not in scored:
            kept.append(line)
    return kept
