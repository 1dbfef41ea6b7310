"""The presence probes: what a photo shows, by the words its references use, and how far the
doubt trusts a caption that names a thing the probes do not find."""
import numpy as np
import torch
from PIL import Image

from assistant.events import Described
from conftest import FLICKR
from model.calibration import Calibration, fit
from model.concepts import _wordnet, false_subject, thing_noun, things_referenced
from model.presence import NONE, UNPROBED, Presence, fit as fit_probes


def test_probes_learn_which_things_photos_show_and_read_back_the_same():
    rng = np.random.default_rng(0)
    kind = thing_noun(_wordnet())
    n = 800
    dog, ball = rng.uniform(size=n) < 0.4, rng.uniform(size=n) < 0.2
    pooled = rng.normal(size=(n, 32))
    pooled[:, 0] += 6 * dog                                   # a dog shows in one direction of the features
    pooled[:, 1] += 6 * ball
    refs = [[("a puppy" if d else "a man") + (" with a ball" if b else "")] for d, b in zip(dog, ball)]
    refs[0] = ["a giraffe"]                                   # mentioned once: too rare for a probe
    words = ["<pad>", "the", "dog", "puppies", "ball", "man", "giraffe"]
    p = fit_probes(pooled, refs, words, kind, log=lambda m: None)
    assert set(p.things) == {"dog", "ball", "person"}
    rows = dict(zip(words, p.word_thing.tolist()))
    assert rows["dog"] == rows["puppies"] == p.things.index("dog") and rows["ball"] == p.things.index("ball")
    assert rows["the"] == rows["<pad>"] == NONE and rows["giraffe"] == UNPROBED
    probs = p.probabilities(torch.from_numpy(pooled))
    assert probs[dog, p.things.index("dog")].mean() > 0.7 > 0.3 > probs[~dog, p.things.index("dog")].mean()
    # A caption's support is the chance of the least likely thing it names; a rare thing's is its rarity.
    ids = {w: i for i, w in enumerate(words)}
    d, nd = int(np.flatnonzero(dog & ~ball)[0]), int(np.flatnonzero(~dog & ~ball)[0])
    sure, unsure, none, rare = p.support([[ids["dog"]], [ids["dog"], ids["ball"]], [ids["the"]], [ids["giraffe"]]],
                                         torch.from_numpy(pooled[[d, d, d, d]]))
    assert sure > 0.5 > 0.3 > unsure and none == 1.0 and rare == p.rare < 0.05
    assert p.support([[ids["dog"]]], torch.from_numpy(pooled[[nd]]))[0] < 0.3
    again = Presence.from_saved(p.saved())                    # as read back from a checkpoint
    assert torch.allclose(again.probabilities(torch.from_numpy(pooled)), probs, atol=2e-3)
    assert Presence.from_saved({}) is None                    # a checkpoint calibrated before the probes


def test_the_probes_add_doubt_where_a_named_thing_is_not_found_and_never_take_it_away():
    rng = np.random.default_rng(1)
    score, words = rng.uniform(-2.0, -0.2, 6000), rng.integers(4, 16, 6000)
    support = rng.uniform(0.01, 0.99, 6000)
    logit = np.log(support / (1 - support))
    truth = 1 / (1 + np.exp(-(-1.0 * score - 0.8 * logit - 2.0)))          # a known P(wrong)
    c = fit(score, words, rng.uniform(size=score.size) < truth, support)
    assert c.with_support is not None and c.with_support[2] < 0
    assert np.abs(c.probed(score, words, support) - truth).max() < 0.08     # the probed chance is the true one
    doubt = c.doubt(score, words, support)
    assert (doubt >= c.own(score, words)).all() and (doubt >= c.probed(score, words, support)).all()
    assert c.doubt(-0.5, 8, 0.05) >= c.abstain_at and c.doubt(-0.5, 8, 0.05) > c.doubt(-0.5, 8, 0.98)
    # However sure the probes are, the caption's own doubt stands: they only know photos like the training ones.
    assert c.doubt(-1.9, 15, 0.9999) == c.own(-1.9, 15) == c.doubt(-1.9, 15)
    # A caption cached before the probes (support unknown) gets its own doubt; so does a model without probes.
    assert Calibration(c.per_token, c.total, c.bias).doubt(-0.5, 8, 0.05) == c.own(-0.5, 8)


def test_the_narrator_silences_a_caption_whose_thing_the_probes_do_not_find():
    from assistant.narrator import Narration
    n = Narration(5.0)
    n.calibrate(Calibration(per_token=0.0, total=0.0, bias=-3.0, with_support=(0.0, 0.0, -1.0, 0.0)))
    found = Described("file", "a dog runs on the grass", -0.3, support=0.99)
    absent = Described("file", "a dog runs on the grass", -0.3, support=0.05)
    assert n.photo_words(found) == "a dog runs on the grass"
    assert n.photo_words(absent) == "I can't tell what this photo shows"


def test_on_unseen_photos_the_shipped_models_silence_falls_on_captions_that_name_something_absent():
    """The shipped model's own probes and doubt on Flickr8k test photos it never saw: what Iris will not say
    names a thing no reference mentions far more often than what it says."""
    from assistant.commands import _narration
    from config import load
    from model.captioner import Captioner
    from model.data import load_captions, split
    captioner = Captioner(None, "cpu", beam_size=3)
    assert captioner.presence is not None and "person" in captioner.presence.things
    narration = _narration(load(None), captioner)
    kind = thing_noun(_wordnet())
    recs = split(load_captions(FLICKR), "test")[:120]
    caps = []
    for i in range(0, len(recs), 20):
        caps += captioner.caption([Image.open(FLICKR / "images" / r["image"]) for r in recs[i:i + 20]])
    silent, said, cut = [], [], []
    for c, r in zip(caps, recs):
        assert 0.0 <= c.support <= 1.0
        words = narration.photo_words(Described("file", c.text, c.score, concepts=c.concepts, novelty=c.novelty,
                                                support=c.support, shorter=c.shorter))
        if c.shorter and words.removeprefix("possibly ") == c.shorter[0]:
            assert c.text.startswith(c.shorter[0] + " ")
            cut.append(false_subject(words, r["captions"], kind))
        else:
            (silent if words.startswith("I can't tell") else said).append(false_subject(c.text, r["captions"], kind))
    assert len(silent) >= 5 and len(said) >= 60
    assert np.mean(silent) >= np.mean(said) + 0.3, (np.mean(silent), np.mean(said))
    # A withheld caption said without its doubted phrase names something absent no more often than one said whole.
    assert len(cut) >= 3 and np.mean(cut) <= np.mean(said), (len(cut), np.mean(cut), np.mean(said))
    # The probe for people finds them where the references mention one, and not where none does.
    with torch.inference_mode():
        feats = captioner.encode(np.stack([captioner.prepare(Image.open(FLICKR / "images" / r["image"]))
                                           for r in recs[:60]]))
        person = captioner.presence.probabilities(captioner.encoder.own(feats).mean(1))[
            :, captioner.presence.things.index("person")].numpy()
    shown = np.array(["person" in things_referenced(r["captions"], kind) for r in recs[:60]])
    assert person[shown].mean() > 0.7 > 0.4 > person[~shown].mean(), (person[shown].mean(), person[~shown].mean())


def test_people_and_men_name_persons_and_plurals_their_things():
    # WordNet files "people" under groups and knows "men" first as a work force: both are persons all the same.
    kind = thing_noun(_wordnet())
    assert [kind(w) for w in ("people", "men", "women", "children", "man")] == ["person"] * 5
    assert [kind(w) for w in ("shoes", "windows", "dogs", "cream", "black", "two")] == \
        ["shoe", "window", "dog", None, None, None]
    refs = ["two men in red robes perform martial arts", "two people dressed in pink"]
    assert not false_subject("a man in red is dancing", refs, kind)
    assert not false_subject("a group of people are dancing", refs, kind)
    assert false_subject("a group of people are walking a dog", ["a dog runs on the beach"], kind)
