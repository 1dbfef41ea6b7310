"""How far to trust a caption, for one model: the chance that it names a person,
animal or thing that is not in the photo, learnt on the val split for each
checkpoint and saved in it.

That chance ("doubt") is a logistic regression (scikit-learn) on the caption's own
log-probability, per word and in total. Per word alone misses that every extra
thing a caption names is one more chance to be wrong; the total alone misses
that a short caption of unlikely words is a guess. Both are known for every
caption Iris has ever said, cached ones too. Other out-of-domain signals were
measured beside them and left out of the doubt (benchmarks/results/doubt.md): the
ImageNet head's entropy and top probability, and the distance of the photo's
features to the training photos'. Among photos like the training ones they add
little.

But the doubt was learnt on such photos only, so it says nothing about an image
unlike all of them (a gradient, noise, the moon): there a caption can be fluent,
sure and false. model/familiarity.py tells those images apart by a feature
distance, and calibrate() learns its limit too.

Doubt means the same thing for every model, so the rules are fixed:
- "I can't tell" where a caption is at least as likely wrong as right;
- "possibly ..." where it is wrong at least one time in three.
A self-critical model is surer of every word than a cross-entropy one, which is
why no fixed confidence could serve both."""
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ABSTAIN_AT = 0.5       # doubt at which a caption is at least as likely wrong as right: "I can't tell"
HEDGE_AT = 1 / 3       # doubt at which it is wrong one time in three or more: "possibly"
BEAM = 3               # the product's beam (config/default.toml)


class CalibrationError(RuntimeError):
    """The doubt cannot be learnt here; the message says what is missing."""


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def log_prob_signals(score, words) -> np.ndarray:
    """(..., 2): each caption's mean log-probability per token and its total over its words and the <end>."""
    score = np.asarray(score, dtype=float)
    return np.stack([score, score * (np.asarray(words, dtype=float) + 1)], axis=-1)


@dataclass(frozen=True)
class Calibration:
    """doubt = sigmoid(per_token * mean log-probability + total * total log-probability + bias)."""
    per_token: float
    total: float
    bias: float
    hedge_at: float = HEDGE_AT
    abstain_at: float = ABSTAIN_AT

    def doubt(self, score, words):
        """P(the caption names something that is not there), from its mean log-probability per token
        (<end> included) and its number of words: a float for one caption, an array for arrays of them."""
        x = log_prob_signals(score, words)
        d = _sigmoid(self.per_token * x[..., 0] + self.total * x[..., 1] + self.bias)
        return float(d) if np.ndim(d) == 0 else d

    def saved(self) -> dict:
        return asdict(self)

    @classmethod
    def from_thresholds(cls, hedge_below: float, abstain_below: float) -> "Calibration":
        """Confidence thresholds (geometric-mean word probability) as a doubt: the same captions are hedged
        and abstained on. doubt = sigmoid(log abstain_below - score) is one half exactly at abstain_below."""
        return cls(-1.0, 0.0, float(np.log(abstain_below)),
                   hedge_at=float(_sigmoid(np.log(abstain_below / hedge_below))))


# What a checkpoint made before calibration existed is treated as: the confidence thresholds chosen on val
# for the model shipped at that time.
UNCALIBRATED = Calibration.from_thresholds(hedge_below=0.6, abstain_below=0.5)


def for_checkpoint(ckpt) -> Calibration:
    """The doubt saved in a checkpoint (model.checkpoint.Checkpoint); an older file's confidence thresholds,
    as a doubt; or UNCALIBRATED's."""
    c = ckpt.calibration
    if "per_token" in c:
        return Calibration(float(c["per_token"]), float(c["total"]), float(c["bias"]),
                           float(c.get("hedge_at", HEDGE_AT)), float(c.get("abstain_at", ABSTAIN_AT)))
    if "hedge_below" in c:
        return Calibration.from_thresholds(float(c["hedge_below"]), float(c["abstain_below"]))
    return UNCALIBRATED


def fit(scores, words, wrong) -> Calibration:
    """The doubt from val captions: their mean log-probability, their number of words, and whether each
    named a thing no reference mentions."""
    wrong = np.asarray(wrong, dtype=bool)
    if wrong.all() or not wrong.any():
        # One outcome only (a tiny or a perfect model): every caption is as doubtful as the val rate says.
        rate = float(np.clip(wrong.mean(), 0.01, 0.99))
        return Calibration(0.0, 0.0, float(np.log(rate / (1 - rate))))
    from sklearn.linear_model import LogisticRegression
    model = LogisticRegression(max_iter=1000).fit(log_prob_signals(scores, words), wrong)
    (per_token, total), (bias,) = model.coef_[0], model.intercept_
    return Calibration(round(float(per_token), 5), round(float(total), 5), round(float(bias), 5))


def val_outcomes(decoder, vocab, features, references: list[list[str]], chunk: int = 250):
    """(scores, words, wrong) of the captions the product would say (beam 3, no <unk>, no noun twice)."""
    import torch
    from model.concepts import WordNetMissing, _wordnet, false_subject, noun_groups, thing_noun
    from model.search import decode, never_said
    try:
        kind = thing_noun(_wordnet())
    except WordNetMissing as e:
        raise CalibrationError(f"Calibration needs WordNet to tell what a caption names: {e}") from None
    nouns = torch.tensor(noun_groups(vocab.itos))
    banned = never_said(vocab)
    scores, words, wrong = [], [], []
    with torch.inference_mode():
        for i in range(0, len(features), chunk):
            found = decode(decoder, features[i:i + chunk], vocab.start, vocab.end, BEAM, 20, banned=banned,
                           nouns=nouns)
            for d, refs in zip(found, references[i:i + chunk]):
                text = vocab.decode(d.ids)
                scores.append(d.score)
                words.append(len(text.split()))
                wrong.append(false_subject(text, refs, kind))
    return np.array(scores), np.array(words), np.array(wrong)


def calibrate(checkpoint: Path, data_dir: str | None = None, cache_dir: str | None = None,
              log=print, prepared=None) -> Calibration:
    """Learn the doubt on the checkpoint's own val split, and which images are unlike its training photos,
    and write both into the checkpoint."""
    import torch
    from model import familiarity
    from model.checkpoint import load_checkpoint, write_calibration
    from model.train import TrainConfig, prepare_data
    decoder, vocab, ckpt = load_checkpoint(checkpoint)
    if prepared is None:
        cfg = TrainConfig.of_checkpoint(ckpt, limit=(ckpt.trained.get("config") or {}).get("limit") or 0)
        if data_dir:
            cfg.data_dir = data_dir
        if cache_dir:
            cfg.cache_dir = cache_dir
        prepared = prepare_data(cfg)
    _, train, val = prepared
    own = ckpt.feature_encoder().for_inference().own if ckpt.decoder.top_of else None   # the pretrained top's
    familiar = familiarity.fit(familiarity.pooled(train.features, through=own),
                               familiarity.pooled(val.features, through=own))
    scores, words, wrong = val_outcomes(decoder, vocab, torch.from_numpy(np.ascontiguousarray(val.features)).float(),
                                        val.references)
    chosen = fit(scores, words, wrong)
    doubt = chosen.doubt(scores, words)
    abstained, hedged = doubt >= chosen.abstain_at, (doubt >= chosen.hedge_at) & (doubt < chosen.abstain_at)
    write_calibration(checkpoint, {**chosen.saved(), "val_captions": len(wrong), "val_wrong": float(wrong.mean()),
                                   "abstain_share": float(abstained.mean()), "hedge_share": float(hedged.mean()),
                                   "abstain_precision": float(wrong[abstained].mean()) if abstained.any() else None,
                                   "abstain_recall": float(wrong[abstained].sum() / max(1, wrong.sum())),
                                   "familiar": familiar.saved()})
    caught = 100 * wrong[abstained].mean() if abstained.any() else 0
    log(f"calibrated on {len(wrong)} val captions ({100 * wrong.mean():.1f} % name something no reference does): "
        f"'I can't tell' for {100 * abstained.mean():.1f} % of them ({caught:.0f} % of those wrong), "
        f"'possibly' for {100 * hedged.mean():.1f} %; images further than {familiar.limit:.1f} from the "
        f"{len(train.features)} training photos' features are unfamiliar")
    return chosen
