"""How far to trust a caption, for one model: the chance that it names a person,
animal or thing that is not in the photo, learnt on the val split for each
checkpoint and saved in it.

That chance ("doubt") is the larger of two logistic regressions (scikit-learn):
- one on the caption's own log-probability, per word and in total. Per word alone
  misses that every extra thing a caption names is one more chance to be wrong;
  the total alone misses that a short caption of unlikely words is a guess;
- one on the same and the caption's support: how likely the presence probes
  (model/presence.py) find the least likely thing it names. The caption's
  probability cannot know whether the decoder's sure "man" is in this photo at
  all; the support asks the photo's features directly.
The second alone tells wrong captions far better among photos like the training
ones, but the probes know nothing else: on a gradient or a fractal they are as
sure of a person as on a portrait, and would talk the doubt out of abstaining.
So the probes may add doubt and never take it away. Other out-of-domain signals were
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


def support_signal(support) -> np.ndarray:
    """The log-odds of a caption's support (model/presence.py), kept finite."""
    p = np.clip(np.asarray(support, dtype=float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibration:
    """doubt = the larger of own = sigmoid(per_token * mean log-probability + total * total log-probability + bias)
    and probed = sigmoid(with_support . (mean log-probability, total log-probability, log-odds of support, 1))."""
    per_token: float
    total: float
    bias: float
    hedge_at: float = HEDGE_AT
    abstain_at: float = ABSTAIN_AT
    with_support: tuple | None = None   # None: a model calibrated before the presence probes

    def own(self, score, words):
        """P(wrong) from the caption's own log-probability per token (<end> included) and its number of words."""
        x = log_prob_signals(score, words)
        return _sigmoid(self.per_token * x[..., 0] + self.total * x[..., 1] + self.bias)

    def probed(self, score, words, support):
        """P(wrong) from the same and the caption's support (model/presence.py)."""
        x = np.concatenate([log_prob_signals(score, words), support_signal(support)[..., None]], axis=-1)
        *weights, bias = self.with_support
        return _sigmoid(x @ np.asarray(weights) + bias)

    def doubt(self, score, words, support=None):
        """P(the caption names something that is not there): a float for one caption, an array for arrays of
        them. A caption whose support is unknown (None: cached before the probes) gets its own doubt only."""
        d = self.own(score, words)
        if support is not None and self.with_support is not None:
            d = np.maximum(d, self.probed(score, words, support))
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
        probed = c.get("with_support")
        return Calibration(float(c["per_token"]), float(c["total"]), float(c["bias"]),
                           float(c.get("hedge_at", HEDGE_AT)), float(c.get("abstain_at", ABSTAIN_AT)),
                           tuple(float(w) for w in probed) if probed else None)
    if "hedge_below" in c:
        return Calibration.from_thresholds(float(c["hedge_below"]), float(c["abstain_below"]))
    return UNCALIBRATED


def fit(scores, words, wrong, support=None) -> Calibration:
    """The doubt from val captions: their mean log-probability, their number of words, their support (None:
    without it), and whether each named a thing no reference mentions."""
    wrong = np.asarray(wrong, dtype=bool)
    if wrong.all() or not wrong.any():
        # One outcome only (a tiny or a perfect model): every caption is as doubtful as the val rate says.
        rate = float(np.clip(wrong.mean(), 0.01, 0.99))
        return Calibration(0.0, 0.0, float(np.log(rate / (1 - rate))))
    from sklearn.linear_model import LogisticRegression
    x = log_prob_signals(scores, words)
    model = LogisticRegression(max_iter=1000).fit(x, wrong)
    (per_token, total), (bias,) = model.coef_[0], model.intercept_
    with_support = None
    if support is not None:
        probed = LogisticRegression(max_iter=1000).fit(np.c_[x, support_signal(support)], wrong)
        with_support = tuple(round(float(w), 5) for w in (*probed.coef_[0], probed.intercept_[0]))
    return Calibration(round(float(per_token), 5), round(float(total), 5), round(float(bias), 5),
                       with_support=with_support)


def _thing_kind():
    """model.concepts.thing_noun over WordNet, or a CalibrationError saying what to install."""
    from model.concepts import WordNetMissing, _wordnet, thing_noun
    try:
        return thing_noun(_wordnet())
    except WordNetMissing as e:
        raise CalibrationError(f"Calibration needs WordNet to tell what a caption names: {e}") from None


def val_outcomes(decoder, vocab, features, references: list[list[str]], presence=None, pooled=None,
                 chunk: int = 250, kind=None):
    """(scores, words, wrong, support) of the captions the product would say (beam 3, no <unk>, no noun twice);
    support (model/presence.py, from each photo's pooled features) is None without presence. kind: _thing_kind()'s,
    when the caller has it already."""
    import torch
    from model.concepts import false_subject, noun_groups
    from model.search import decode, never_said
    kind = kind or _thing_kind()
    nouns = torch.tensor(noun_groups(vocab.itos))
    banned = never_said(vocab)
    scores, words, wrong, support = [], [], [], []
    with torch.inference_mode():
        for i in range(0, len(features), chunk):
            found = decode(decoder, features[i:i + chunk], vocab.start, vocab.end, BEAM, 20, banned=banned,
                           nouns=nouns)
            if presence is not None:
                support += presence.support([d.ids for d in found],
                                            torch.as_tensor(np.asarray(pooled[i:i + chunk]), dtype=torch.float32))
            for d, refs in zip(found, references[i:i + chunk]):
                text = vocab.decode(d.ids)
                scores.append(d.score)
                words.append(len(text.split()))
                wrong.append(false_subject(text, refs, kind))
    return np.array(scores), np.array(words), np.array(wrong), (np.array(support) if presence is not None else None)


def calibrate(checkpoint: Path, data_dir: str | None = None, cache_dir: str | None = None,
              log=print, prepared=None) -> Calibration:
    """Learn the doubt on the checkpoint's own val split, and which images are unlike its training photos,
    and write both into the checkpoint."""
    import torch
    from model import familiarity
    from model.checkpoint import load_checkpoint, write_calibration
    from model.train import TrainConfig, prepare_data
    from model import presence as probes
    decoder, vocab, ckpt = load_checkpoint(checkpoint)
    kind = _thing_kind()
    if prepared is None:
        cfg = TrainConfig.of_checkpoint(ckpt, limit=(ckpt.trained.get("config") or {}).get("limit") or 0)
        if data_dir:
            cfg.data_dir = data_dir
        if cache_dir:
            cfg.cache_dir = cache_dir
        prepared = prepare_data(cfg)
    _, train, val = prepared
    own = ckpt.feature_encoder().for_inference().own if ckpt.decoder.top_of else None   # the pretrained top's
    train_pooled, val_pooled = (familiarity.pooled(d.features, through=own) for d in (train, val))
    familiar = familiarity.fit(train_pooled, val_pooled)
    present = probes.fit(train_pooled, train.references, vocab.itos, kind, log=log)
    scores, words, wrong, support = val_outcomes(
        decoder, vocab, torch.from_numpy(np.ascontiguousarray(val.features)).float(), val.references,
        presence=present, pooled=val_pooled, kind=kind)
    chosen = fit(scores, words, wrong, support)
    doubt = chosen.doubt(scores, words, support)
    abstained, hedged = doubt >= chosen.abstain_at, (doubt >= chosen.hedge_at) & (doubt < chosen.abstain_at)
    write_calibration(checkpoint, {**chosen.saved(), "val_captions": len(wrong), "val_wrong": float(wrong.mean()),
                                   "abstain_share": float(abstained.mean()), "hedge_share": float(hedged.mean()),
                                   "abstain_precision": float(wrong[abstained].mean()) if abstained.any() else None,
                                   "abstain_recall": float(wrong[abstained].sum() / max(1, wrong.sum())),
                                   "familiar": familiar.saved(), "presence": present.saved()})
    caught = 100 * wrong[abstained].mean() if abstained.any() else 0
    log(f"calibrated on {len(wrong)} val captions ({100 * wrong.mean():.1f} % name something no reference does): "
        f"'I can't tell' for {100 * abstained.mean():.1f} % of them ({caught:.0f} % of those wrong), "
        f"'possibly' for {100 * hedged.mean():.1f} %; images further than {familiar.limit:.1f} from the "
        f"{len(train.features)} training photos' features are unfamiliar")
    return chosen
