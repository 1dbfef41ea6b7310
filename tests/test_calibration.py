"""Each model's own "possibly" and "I can't tell" thresholds: chosen on val captions, saved in
its checkpoint, and used by everything that speaks for it."""
import math
import shutil

import numpy as np

from assistant.events import Described
from conftest import run_main
from model.calibration import UNCALIBRATED, choose
from model.checkpoint import read_checkpoint


def test_abstention_begins_where_a_caption_is_as_likely_wrong_as_right():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.2, 0.9, 4000)
    wrong = rng.uniform(size=conf.size) < np.clip(1.1 - 2 * conf, 0, 1)     # P(wrong) = 0.5 at confidence 0.3
    c = choose(conf, wrong)
    assert abs(c.abstain_below - 0.3) < 0.03
    assert abs(c.hedge_below - np.quantile(conf, 0.2)) < 1e-3            # the least confident fifth
    assert c.abstain_below < c.hedge_below


def test_a_model_whose_captions_are_rarely_wrong_never_abstains_and_one_always_wrong_is_capped_at_the_hedge():
    conf = np.linspace(0.3, 0.9, 500)
    never = choose(conf, np.zeros(500, bool))
    assert never.abstain_below == round(conf.min(), 3) and not (conf < never.abstain_below).any()
    always = choose(conf, np.ones(500, bool))
    assert always.abstain_below == always.hedge_below


def test_calibrate_writes_the_thresholds_into_the_checkpoint_and_the_narrator_uses_them(tiny_checkpoint, tmp_path):
    from assistant.commands import _narration
    from config import load
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
    assert (captioner.calibration.hedge_below, captioner.calibration.abstain_below) == \
        (saved["hedge_below"], saved["abstain_below"])
    # hedge_below = "auto" (the default) takes the model's; a number in the settings overrides the hedge only
    auto = _narration(load(None), captioner)
    assert (auto.hedge_below, auto.abstain_below) == (saved["hedge_below"], saved["abstain_below"])
    settings = tmp_path / "settings.toml"
    settings.write_text("[model]\nhedge_below = 0.99\n")
    fixed = _narration(load(settings), captioner)
    assert (fixed.hedge_below, fixed.abstain_below) == (0.99, saved["abstain_below"])
    between = math.log((saved["abstain_below"] + 0.99) / 2) if saved["abstain_below"] < 0.98 else None
    if between is not None:
        assert fixed.photo_words(Described("file", "a dog runs", between)) == "possibly a dog runs"


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
