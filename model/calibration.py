"""How sure is sure enough, for one model: the confidences below which Iris says
"possibly" and "I can't tell", chosen on the val split for each checkpoint and saved in it.

A caption's confidence (its geometric-mean word probability) means different things
for different models: self-critical training makes a model surer of every word than
cross-entropy alone, so one fixed threshold would hedge everything one model says and
nothing another says. So each checkpoint carries its own:
- hedge ("possibly ..."): the least confident fifth of the model's val captions;
- abstain ("I can't tell"): where a caption that confident is as likely to name a
  person, animal or thing no reference mentions as not. That likelihood is the wrong
  rate as a falling function of confidence, fitted by isotonic regression (scipy), so
  one noisy stretch of val cannot set the threshold."""
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

HEDGE_SHARE = 0.2      # the least confident fifth of val captions is hedged
ABSTAIN_WRONG = 0.5    # below this confidence a caption is at least as likely wrong as right
BEAM = 3               # the product's beam (config/default.toml)


class CalibrationError(RuntimeError):
    """The thresholds cannot be chosen here; the message says what is missing."""


@dataclass(frozen=True)
class Calibration:
    hedge_below: float
    abstain_below: float

    def saved(self) -> dict:
        return asdict(self)


# What a checkpoint made before calibration existed is treated as: the values chosen on val for the
# model shipped at that time.
UNCALIBRATED = Calibration(hedge_below=0.6, abstain_below=0.5)


def for_checkpoint(ckpt) -> Calibration:
    """The thresholds saved in a checkpoint (model.checkpoint.Checkpoint), or UNCALIBRATED's."""
    c = ckpt.calibration
    return Calibration(float(c["hedge_below"]), float(c["abstain_below"])) if c else UNCALIBRATED


def choose(confidences, wrong) -> Calibration:
    """The two thresholds from val captions' confidences and whether each named a thing no reference mentions."""
    from scipy.optimize import isotonic_regression
    conf = np.asarray(confidences, dtype=float)
    order = np.argsort(conf)
    # P(wrong | confidence), forced to fall as confidence rises.
    fitted = isotonic_regression(np.asarray(wrong, dtype=float)[order], increasing=False).x
    hedge = float(np.quantile(conf, HEDGE_SHARE))
    unsure = np.flatnonzero(fitted >= ABSTAIN_WRONG)      # a prefix of the captions, least confident first
    if not len(unsure):                 # no confidence is that bad: never abstain
        abstain = float(conf.min())
    elif unsure[-1] + 1 < len(conf):    # abstain below the first caption more likely right than wrong
        abstain = float(conf[order][unsure[-1] + 1])
    else:
        abstain = float(conf.max())
    return Calibration(round(hedge, 3), round(min(abstain, hedge), 3))


def val_outcomes(decoder, vocab, features, references: list[list[str]], chunk: int = 250):
    """(confidences, wrong) of the captions the product would say (beam 3, no <unk>, no noun twice)."""
    import torch
    from model.concepts import WordNetMissing, _wordnet, false_subject, noun_mask, thing_noun
    from model.search import decode, never_said
    try:
        kind = thing_noun(_wordnet())
    except WordNetMissing as e:
        raise CalibrationError(f"Calibration needs WordNet to tell what a caption names: {e}") from None
    nouns = torch.tensor(noun_mask(vocab.itos))
    banned = never_said(vocab)
    conf, wrong = [], []
    with torch.inference_mode():
        for i in range(0, len(features), chunk):
            found = decode(decoder, features[i:i + chunk], vocab.start, vocab.end, BEAM, 20, banned=banned,
                           nouns=nouns)
            for d, refs in zip(found, references[i:i + chunk]):
                conf.append(float(np.exp(d.score)))
                wrong.append(false_subject(vocab.decode(d.ids), refs, kind))
    return np.array(conf), np.array(wrong)


def calibrate(checkpoint: Path, data_dir: str | None = None, cache_dir: str | None = None,
              log=print, prepared=None) -> Calibration:
    """Choose the thresholds on the checkpoint's own val split and write them into the checkpoint."""
    import torch
    from model.checkpoint import load_checkpoint, write_calibration
    from model.train import TrainConfig, prepare_data
    decoder, vocab, ckpt = load_checkpoint(checkpoint)
    if prepared is None:
        cfg = TrainConfig(encoder=ckpt.encoder_name, grid=ckpt.grid,
                          held_out=tuple((ckpt.trained.get("config") or {}).get("held_out") or ()),
                          limit=(ckpt.trained.get("config") or {}).get("limit") or 0)
        if data_dir:
            cfg.data_dir = data_dir
        if cache_dir:
            cfg.cache_dir = cache_dir
        prepared = prepare_data(cfg)
    _, _, val = prepared
    conf, wrong = val_outcomes(decoder, vocab, torch.from_numpy(np.ascontiguousarray(val.features)).float(),
                               val.references)
    chosen = choose(conf, wrong)
    flagged = conf < chosen.abstain_below
    write_calibration(checkpoint, {**chosen.saved(), "val_captions": len(conf), "val_wrong": float(wrong.mean()),
                                   "abstain_share": float(flagged.mean()),
                                   "abstain_precision": float(wrong[flagged].mean()) if flagged.any() else None})
    log(f"calibrated on {len(conf)} val captions ({100 * wrong.mean():.1f} % name something no reference does): "
        f"'possibly' below {chosen.hedge_below}, 'I can't tell' below {chosen.abstain_below} "
        f"({100 * flagged.mean():.1f} % of val)")
    return chosen
