"""Grounded, honest photo descriptions, measured on Flickr8k's test split, with a
held-out-concept model (the DCC / NOC novel-object protocol): a decoder trained by
`main.py train --held-out cat,horse,bicycle,boat,guitar,bird,car,food`, which never
saw those eight concepts, beside the shipped model.

For each model and each way of choosing the words:
  old search          beam 3 as shipped before: <unk> allowed
  no <unk>            <unk> masked in search
  + no noun twice     also no noun said twice in a caption
  + guided            also a caption that leaves out a category the classifier is sure of is searched again,
                      made to name it (constrained beam search, model/guided.py)
  what Iris says      no <unk>, no noun twice, guided, then the narrator: grounded in the ImageNet head's concepts,
                      hedged, or "I can't tell", and an image unlike the training photos never gets its
                      caption (assistant/narrator.py, model/familiarity.py)
it reports BLEU-4 / METEOR / CIDEr of the words, the held-out concepts' mean F1 (does
the description name the concept when a reference does), and the false subject rate
(the description names a person, animal or thing that no reference mentions). Then how
well "possibly" and "I can't tell" catch descriptions whose subject is wrong.

    .venv/bin/python benchmarks/grounding.py [--heldout runs/heldout/best.pt] [--model LABEL=CHECKPOINT] [--only LABEL]
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from common import RESULTS, ROOT, split_features, two_cores, write_table
from model.concepts import false_subject

HELD_OUT = ("cat", "horse", "bicycle", "boat", "guitar", "bird", "car", "food")


def concept_f1(descriptions, references) -> dict[str, float]:
    from model.concepts import mentions
    out = {}
    for c in HELD_OUT:
        truth = [any(mentions(r, [c]) for r in refs) for refs in references]
        said = [mentions(d, [c]) for d in descriptions]
        tp = sum(t and s for t, s in zip(truth, said))
        p = tp / max(1, sum(said))
        r = tp / max(1, sum(truth))
        out[c] = 2 * p * r / (p + r) if p + r else 0.0
    return out


def describe_all(captioner_parts, feats, variant, narration, familiar=None):
    """What each variant says; "what Iris says" also tells unfamiliar images apart with the model's own
    familiarity (model/familiarity.py), as the product does."""
    from assistant.events import Described
    from model.concepts import group
    from model.guided import guide
    from model.search import decode, never_said
    from model.shorter import weighed
    decoder, vocab, encoder, class_words, nouns, presence = captioner_parts
    banned = None if variant == "old search" else never_said(vocab)
    out, doubts, searched, cuts = [], [], 0, []
    for i in range(0, len(feats), 200):
        x = torch.from_numpy(np.ascontiguousarray(feats[i:i + 200])).float()
        with torch.inference_mode():
            no_twice = nouns if variant in ("+ no noun twice", "+ guided", "what Iris says") else None
            found = decode(decoder, x, vocab.start, vocab.end, 3, 20, banned=banned, nouns=no_twice)
            own = encoder.own(x)    # the pretrained top's features, as the captioner measures both on
            concepts = [group(class_words, p) for p in encoder.head(own).tolist()]
            if variant in ("+ guided", "what Iris says"):
                found, replaced = guide(decoder, vocab, x, found, concepts, 3, 20, banned=banned, nouns=no_twice)
                searched += sum(replaced)
            novelty = familiar.novelty(own) if familiar is not None else [None] * len(x)
            support, short = weighed(decoder, vocab, presence, x, [d.ids for d in found], own.mean(1))
        for d, c, n, s, cut in zip(found, concepts, novelty, support, short):
            text = vocab.decode(d.ids)
            doubts.append(narration.calibration.doubt(d.score, len(text.split()), s))
            if variant == "what Iris says":
                text = narration.photo_words(Described("file", text, d.score, concepts=c, novelty=n, support=s,
                                                       shorter=cut))
                cuts.append(cut is not None and text.removeprefix("possibly ") == cut[0])
            out.append(text)
    return out, doubts, searched, cuts


def unused_verbs(wn, descriptions: list[str], references: list[list[str]]) -> str:
    """Of the descriptions with an -ing verb, the share with one that none of their references uses."""
    import re

    def verbs(text: str) -> set[str]:
        return {base for w in re.findall(r"[a-z]+", text.lower()) if w.endswith("ing") and (base := wn.morphy(w, "v"))}
    unused = [bool(v - set().union(*map(verbs, refs))) for d, refs in zip(descriptions, references) if (v := verbs(d))]
    return f"{100 * np.mean(unused):.0f} % of {len(unused)}" if unused else "-"


def tune(class_words, narration) -> None:
    """On the val split, never test: how often grounding is right at each threshold (shipped model). When to
    abstain is learnt per model (model/calibration.py; benchmarks/doubt.py measures it)."""
    from model.checkpoint import SHIPPED
    from model.concepts import group, mentions
    decoder, vocab, encoder, val, feats = split_features(SHIPPED, "val")
    said, _, _, _ = describe_all((decoder, vocab, encoder, class_words, None, None), feats, "no <unk>",
                              narration)
    refs = [r["captions"] for r in val]
    rows = []
    x = torch.from_numpy(np.ascontiguousarray(feats)).float()
    with torch.inference_mode():
        probs = encoder.classify(x).tolist()
    from model.concepts import CATEGORIES
    categories = set(CATEGORIES.values())
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        replaced = right = 0
        for text, p, rs in zip(said, probs, refs):
            [(word, q)] = group(class_words, p, top=1)
            if word in categories and q >= t and not mentions(text, [word]):
                replaced += 1
                right += any(mentions(r, [word]) for r in rs)
        rows.append([t, f"{100 * right / max(1, replaced):.0f} %", replaced])
    write_table("grounding_val.md", "Val split (1,000 images), shipped model: grounding replaces a caption "
                "that does not name a confident category (precision: a reference names it).",
                ["threshold", "precision", "captions replaced"], rows)


def ceiling(encoder, feats, refs, class_words) -> list[list[str]]:
    """How far naming the classifier's top concept alone could take the held-out F1, on the novel photos: the
    classifier is the same for every model, so this bounds what grounding can add."""
    from model.concepts import group, mentions
    novel = [i for i, rs in enumerate(refs) if any(mentions(x, HELD_OUT) for x in rs)]
    x = torch.from_numpy(np.ascontiguousarray(feats[novel])).float()
    with torch.inference_mode():
        tops = [group(class_words, p, top=1)[0] for p in encoder.classify(x).tolist()]
    rows = []
    for t in (0.0, 0.2, 0.5):
        said = [f"a photo of a {word}" if p >= t else "" for word, p in tops]
        f1 = concept_f1(said, [refs[i] for i in novel])
        rows.append(["top concept, however unsure" if t == 0 else f"top concept at {t} or more",
                     f"{100 * np.mean(list(f1.values())):.1f}"] + [f"{100 * f1[c]:.0f}" for c in HELD_OUT])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--heldout", default=str(ROOT / "runs" / "heldout" / "best.pt"))
    ap.add_argument("--heldout-scst", default=str(ROOT / "runs" / "heldout_scst" / "best.pt"),
                    help="the held-out model after the self-critical stage (main.py train --scst-from ...)")
    ap.add_argument("--model", action="append", default=[], metavar="LABEL=CHECKPOINT",
                    help="another model to score beside them, e.g. the one shipped before (repeatable)")
    ap.add_argument("--only", metavar="LABEL", help="score only this model; the others' rows are kept")
    ap.add_argument("--tune", action="store_true",
                    help="measure grounding's precision at each threshold on the val split and stop")
    args = ap.parse_args()
    two_cores()
    from assistant.narrator import Narration
    from model.calibration import for_checkpoint
    from model.checkpoint import read_checkpoint
    from model.familiarity import Familiarity
    from model.presence import Presence
    from config import load
    from model.checkpoint import SHIPPED
    from model.concepts import _wordnet, concept_words, mentions, noun_groups, thing_noun
    from model.metrics import coco_scores
    settings = load(None)
    narration = Narration(2.0)
    wn = _wordnet()
    kind = thing_noun(wn)
    class_words = concept_words()
    if args.tune:
        return tune(class_words, narration)
    rows, honesty, shortened = [], [], []
    every = (("shipped", SHIPPED), ("held-out concepts", args.heldout),
             ("held-out concepts + self-critical", args.heldout_scst),
             *(tuple(m.split("=", 1)) for m in args.model))
    models = [(label, Path(path)) for label, path in every if Path(path).exists() and args.only in (None, label)]
    for label, path in models:
        decoder, vocab, encoder, test, feats = split_features(path, "test")
        ckpt = read_checkpoint(path)
        narration.calibrate(for_checkpoint(ckpt), settings.model.hedge_below)   # the model's own
        familiar = Familiarity.from_saved(ckpt.calibration.get("familiar"))
        presence = Presence.from_saved(ckpt.calibration.get("presence"))
        nouns = torch.tensor(noun_groups(vocab.itos))
        refs = [r["captions"] for r in test]
        novel = [i for i, rs in enumerate(refs) if any(mentions(x, HELD_OUT) for x in rs)]
        for variant in ("old search", "no <unk>", "+ no noun twice", "+ guided", "what Iris says"):
            said, doubt, searched, cuts = describe_all((decoder, vocab, encoder, class_words, nouns, presence),
                                                       feats, variant, narration, familiar)
            spoken = [s.removeprefix("possibly ") for s in said]
            scores = coco_scores(spoken, refs)
            f1 = concept_f1([spoken[i] for i in novel], [refs[i] for i in novel])
            wrong = [false_subject(s, r, kind) for s, r in zip(spoken, refs)]
            unk = sum("<unk>" in s for s in said)
            rows.append([label, variant, f"{scores['BLEU-4'] * 100:.1f}", f"{scores['METEOR'] * 100:.1f}",
                         f"{scores['CIDEr'] * 100:.1f}", f"{100 * np.mean(list(f1.values())):.1f}",
                         f"{100 * np.mean([wrong[i] for i in novel]):.1f}", f"{100 * np.mean(wrong):.1f}", str(unk),
                         str(searched) if variant in ("+ guided", "what Iris says") else "-"])
            print(label, variant, rows[-1][2:], {c: round(v * 100) for c, v in f1.items()}, flush=True)
            if variant == "+ guided":
                whole = said            # the captions the narrator weighs
            if variant == "what Iris says" and presence is not None:
                cut = [i for i, c in enumerate(cuts) if c]
                whole_said = [i for i, s in enumerate(said) if not cuts[i]
                              and not s.startswith(("I can't tell", "a photo of"))]
                shortened.append([label, str(len(cut)), f"{100 * len(cut) / len(said):.1f} %",
                                  f"{100 * np.mean([wrong[i] for i in cut]):.1f} %" if cut else "-",
                                  str(sum(said[i].startswith("possibly ") for i in cut)),
                                  unused_verbs(wn, [spoken[i] for i in cut], [refs[i] for i in cut]),
                                  unused_verbs(wn, [spoken[i] for i in whole_said], [refs[i] for i in whole_said]),
                                  "; ".join(f'"{said[i]}" (whole: "{whole[i]}")' for i in cut[:3])])
            if variant == "no <unk>":
                c = narration.calibration
                bands = ((f"possibly (doubt {c.hedge_at:.2f} to {c.abstain_at:.2f})", c.hedge_at, c.abstain_at),
                         (f"I can't tell (doubt {c.abstain_at:.2f} or more)", c.abstain_at, float("inf")))
                for name, low, high in bands:
                    flagged = [low <= d < high for d in doubt]
                    tp = sum(f and w for f, w in zip(flagged, wrong))
                    honesty.append([label, name, f"{100 * tp / max(1, sum(flagged)):.0f} %",
                                    f"{100 * tp / max(1, sum(wrong)):.0f} %", f"{100 * np.mean(flagged):.0f} %"])
    # Rows of a model not scored this time (the held-out model is not always at hand) are kept, not lost.
    scored = {label for label, _ in models}
    old = (RESULTS / "grounding.md").read_text().splitlines() if (RESULTS / "grounding.md").exists() else []
    for line in old:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in {label for label, _ in every} - scored:
            (rows if len(cells) == 10 else honesty if len(cells) == 5 else []).append(cells)
    write_table("grounding.md", "Photo descriptions on the Flickr8k test split (1,000 images; 'novel' = the "
                f"{len(novel)} showing a held-out concept: {', '.join(HELD_OUT)}), beam 3, x100.",
                ["model", "words", "BLEU-4", "METEOR", "CIDEr", "held-out F1", "false subject (novel)",
                 "false subject (all)", "<unk> said", "searched again"], rows,
                "BLEU-4, METEOR and CIDEr are scored on the words Iris would say, without its 'possibly'. "
                "False subject: the description names a person, animal or thing (WordNet) that no reference mentions. "
                "Rows of models not scored in the latest run are kept from before; those kept from before 2026-11-25 "
                "were scored when 'people' and 'men' did not yet count as naming a person. "
                "Searched again: captions that left out a category the classifier is sure of and were replaced by "
                "the best caption that names it (model/guided.py).")
    if shortened:
        write_table("grounding.md", "Withheld captions said without the phrase that names a thing the presence "
                    "probes doubt (model/shorter.py), in what Iris says of the 1,000 test photos: how many, their "
                    "share, how many of them name something no reference mentions, how many are said with "
                    "'possibly', and the first three. Verb unused: of the descriptions with an -ing verb, the share "
                    "whose verb no reference uses (WordNet's base form: 'plays' counts for 'playing'), for the cut "
                    "captions and for the captions said whole; nothing else checks a verb. Only the models scored "
                    "in the latest run.",
                    ["model", "said shorter", "share of photos", "false subject among them", "with 'possibly'",
                     "verb unused (cut)", "verb unused (said whole)", "examples"], shortened, append=True)
    decoder, vocab, encoder, test, feats = split_features(SHIPPED, "test")
    write_table("grounding.md", "The classifier's ceiling: held-out F1 on the novel test photos if Iris said only "
                "'a photo of a <top concept>' (the same ImageNet head serves every model).",
                ["said", "held-out F1"] + list(HELD_OUT),
                ceiling(encoder, feats, [r["captions"] for r in test], class_words), append=True)
    write_table("grounding.md", "How well the hedge and the abstention catch descriptions whose subject is wrong "
                "(no <unk> search, before grounding). Doubt: the model's own P(wrong subject), learnt on val "
                "(model/calibration.py).", ["model", "flag", "precision", "recall", "share flagged"],
                honesty, append=True)


if __name__ == "__main__":
    main()
