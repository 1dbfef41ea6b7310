"""Each model's own doubt (the chance a caption names something not there): learnt on val
captions, saved in its checkpoint, and used by everything that speaks for it."""
import math
import shutil

import numpy as np
from PIL import Image

from assistant.events import Described
from conftest import FLICKR, run_main
from model.calibration import UNCALIBRATED, Calibration, fit
from model.checkpoint import read_checkpoint


def test_doubt_is_the_chance_a_caption_is_wrong_and_grows_with_every_thing_a_caption_names():
    rng = np.random.default_rng(0)
    score = rng.uniform(-2.0, -0.2, 6000)                 # mean log-probability per token
    words = rng.integers(4, 16, 6000)
    total = score * (words + 1)
    truth = 1 / (1 + np.exp(-(-1.5 * score - 0.2 * total - 3.0)))          # a known P(wrong)
    c = fit(score, words, rng.uniform(size=score.size) < truth)
    doubt = np.array([c.doubt(s, w) for s, w in zip(score, words)])
    assert np.abs(doubt - truth).max() < 0.06                               # the fitted chance is the true one
    assert c.doubt(-1.0, 15) > c.doubt(-1.0, 5)        # as sure per word, but naming more: more doubt
    assert c.doubt(-0.3, 8) < c.doubt(-1.5, 8)


def test_a_model_that_is_always_or_never_wrong_gets_its_rate_as_doubt_and_old_thresholds_keep_their_meaning():
    score, words = np.linspace(-2, -0.2, 50), np.full(50, 8)
    always, never = fit(score, words, np.ones(50, bool)), fit(score, words, np.zeros(50, bool))
    assert always.doubt(-0.2, 8) >= always.abstain_at and never.doubt(-2.0, 8) < never.hedge_at
    # A checkpoint calibrated with confidence thresholds abstains and hedges on the same captions as before.
    old = Calibration.from_thresholds(hedge_below=0.6, abstain_below=0.5)
    for confidence, said in ((0.45, "abstain"), (0.55, "hedge"), (0.65, "sure")):
        d = old.doubt(math.log(confidence), 7)
        assert ("abstain" if d >= old.abstain_at else "hedge" if d >= old.hedge_at else "sure") == said
    assert UNCALIBRATED == old


def test_calibrate_writes_the_doubt_into_the_checkpoint_and_the_narrator_uses_it(tiny_checkpoint, tmp_path):
    from assistant.commands import _narration
    from config import load
    from model.calibration import for_checkpoint
    from model.captioner import Captioner
    model = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, model)
    assert read_checkpoint(model).calibration == {}
    assert Captioner(model, "cpu", beam_size=1).calibration == UNCALIBRATED     # made before calibration
    r = run_main("calibrate", str(model), "--cache", str(tiny_checkpoint.parent.parent / "cache"), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    saved = read_checkpoint(model).calibration
    assert saved["val_captions"] == 12 and "calibrated on 12 val captions" in r.stdout
    captioner = Captioner(model, "cpu", beam_size=1)
    assert captioner.calibration == for_checkpoint(read_checkpoint(model)) != UNCALIBRATED
    assert captioner.calibration.bias == saved["bias"]
    # ... and which images are unlike its training photos: the val photos it was calibrated on mostly are not.
    assert saved["familiar"]["limit"] > 0 and captioner.familiar is not None
    assert captioner.familiar.limit == saved["familiar"]["limit"]
    # ... and the presence probes, whose support of each caption the doubt weighs.
    assert "presence probes for" in r.stdout and captioner.presence is not None
    assert captioner.presence.things == tuple(saved["presence"]["things"])
    # (The tiny model's few val captions may all be right or all wrong: then no regression is fitted, and the
    # doubt is their rate, with or without support; tests/test_presence.py fits one.)
    assert captioner.calibration.with_support == (tuple(saved["with_support"]) if saved["with_support"] else None)
    [caption] = captioner.caption([Image.open(sorted((FLICKR / "images").glob("*.jpg"))[0])])
    assert 0.0 <= caption.support <= 1.0
    # hedge_below = "auto" (the default) takes the model's doubt; a number in the settings overrides the hedge only
    auto = _narration(load(None), captioner)
    assert auto.calibration == captioner.calibration and auto.hedge_below is None
    settings = tmp_path / "settings.toml"
    settings.write_text("[model]\nhedge_below = 0.99\n")
    fixed = _narration(load(settings), captioner)
    assert fixed.calibration == captioner.calibration and fixed.hedge_below == 0.99
    # A caption the model does not doubt enough to abstain on, but less confident than 0.99: hedged.
    trusted = [s for s in np.linspace(-4, -0.02, 200) if captioner.calibration.doubt(s, 3) < 0.5]
    if trusted:
        assert fixed.photo_words(Described("file", "a dog runs", trusted[0])) == "possibly a dog runs"


def test_calibrate_refuses_a_file_that_is_not_a_checkpoint_and_leaves_it_as_it_was(tmp_path):
    bogus = tmp_path / "notes.pt"
    bogus.write_bytes(b"my own notes, not a model")
    r = run_main("calibrate", str(bogus), timeout=120)
    assert r.returncode == 2 and "is corrupt or truncated" in r.stderr, r.stderr
    assert bogus.read_bytes() == b"my own notes, not a model"


def test_a_bad_hedge_setting_is_refused_with_what_it_may_hold(tmp_path):
    settings = tmp_path / "settings.toml"
    settings.write_text('[model]\nhedge_below = "sometimes"\n')
    r = run_main("--config", str(settings), "describe", "x.jpg", timeout=120)
    assert r.returncode == 2 and '"auto"' in r.stderr, r.stderr
