"""Caption metrics from the COCO caption toolkit (pycocoevalcap), not hand-written."""
from model.vocabulary import tokenize


def _ours(hypotheses: list[str], references: list[list[str]]):
    """The toolkit's (references, results) dicts, tokenized with our own tokenizer (no Java)."""
    gts = {i: [" ".join(tokenize(r)) for r in refs] for i, refs in enumerate(references)}
    res = {i: [" ".join(tokenize(h)) or "a"] for i, h in enumerate(hypotheses)}
    return gts, res


def bleu4(hypotheses: list[str], references: list[list[str]]) -> float:
    """Corpus BLEU-4 (0..1) with our own tokenizer; quick, no Java, used for early stopping."""
    from pycocoevalcap.bleu.bleu import Bleu

    score, _ = Bleu(4).compute_score(*_ours(hypotheses, references), verbose=0)
    return float(score[3])


def bleu4_and_cider(hypotheses: list[str], references: list[list[str]]) -> dict:
    """Corpus BLEU-4 and CIDEr-D (0..1 and 0..10) with our own tokenizer; for choosing the self-critical epoch."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider

    gts, res = _ours(hypotheses, references)
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    return {"val_bleu4": float(bleu[3]), "val_cider": float(cider)}


def coco_scores(hypotheses: list[str], references: list[list[str]]) -> dict:
    """BLEU-1..4, METEOR, ROUGE-L and CIDEr as the COCO toolkit computes them (PTB tokenizer; METEOR needs Java)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tok = PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": r} for r in refs] for i, refs in enumerate(references)})
    res = tok.tokenize({i: [{"caption": h or "a"}] for i, h in enumerate(hypotheses)})
    scores = {}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    scores.update({f"BLEU-{n + 1}": b for n, b in enumerate(bleu)})
    scores["METEOR"], _ = Meteor().compute_score(gts, res)
    scores["ROUGE-L"], _ = Rouge().compute_score(gts, res)
    scores["CIDEr"], _ = Cider().compute_score(gts, res)
    return {k: float(v) for k, v in scores.items()}
