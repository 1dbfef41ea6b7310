"""The training recipe's extra stages, each on a tiny real run: sentence embeddings of real captions,
the contrastive image side, and self-critical training on CIDEr-D."""
import json
import os

import numpy as np
import pytest
import torch

from conftest import FLICKR, TINY, run_main
from model.checkpoint import load_checkpoint
from model.contrastive import ContrastiveConfig, pretrain_image_side
from model.data import load_captions, split
from model.decoder import DecoderConfig, build_decoder
from model.scst import CorpusCider, ScstConfig, sample, self_critical_loss, train_scst, words_of
from model.search import never_said
from model.sentences import cached_embeddings, embed
from model.train import TrainConfig, caption_vectors, prepare_data, train


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    return tiny_checkpoint, tiny_checkpoint.parent.parent


def train_then_resume(base: dict, out):
    """Two epochs of a tiny run, then a resumed run to three: it says it resumed, and its loss fell each epoch.
    Returns the best checkpoint of the first two."""
    torch.manual_seed(0)
    best = train(TrainConfig(epochs=2, **base), log=lambda m: None)
    said = []
    train(TrainConfig(epochs=3, resume=True, **base), log=said.append)
    assert said[0].startswith("resuming after epoch 2")
    losses = [json.loads(line)["loss"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 3 and losses[2] < losses[1] < losses[0]
    return best


def caption_of_a_test_photo(best, cache_dir: str):
    """The assistant's captioner (its CPU-packed layers, its beam search), calibrated on the model's own val
    split, on the first Flickr8k test photo."""
    from PIL import Image
    from model.calibration import calibrate
    from model.captioner import Captioner
    calibrate(best, cache_dir=cache_dir, log=lambda m: None)
    image = Image.open(FLICKR / "images" / split(load_captions(FLICKR), "test")[0]["image"])
    return Captioner(best, device="cpu").caption([image])[0]


# --- CIDEr-D rewards -----------------------------------------------------------------------------
def test_corpus_cider_equals_the_toolkits_cider_when_the_corpus_is_the_scored_set():
    from pycocoevalcap.cider.cider import Cider
    from model.vocabulary import tokenize
    recs = split(load_captions(FLICKR), "val")[:40]
    refs = [r["captions"][1:] for r in recs]
    hyps = [recs[(i + 1) % 40]["captions"][0] if i % 3 else r["captions"][0] for i, r in enumerate(recs)]
    ours = CorpusCider(refs).scores(hyps, list(range(40)))
    _, toolkit = Cider().compute_score({i: [" ".join(tokenize(x)) for x in refs[i]] for i in range(40)},
                                       {i: [" ".join(tokenize(hyps[i]))] for i in range(40)})
    assert np.allclose(ours, toolkit)
    own, other = ours[::3], np.delete(ours, np.s_[::3])            # its own image's caption, another image's
    assert own.mean() > 3 * other.mean()


def test_a_captions_reward_does_not_depend_on_the_rest_of_its_batch():
    recs = split(load_captions(FLICKR), "train")[:30]
    cider = CorpusCider([r["captions"] for r in recs])
    alone = cider.scores([recs[0]["captions"][0]], [0])
    with_others = cider.scores([r["captions"][0] for r in recs], list(range(30)))
    assert alone[0] == pytest.approx(with_others[0])


# --- self-critical training -----------------------------------------------------------------------
def test_self_critical_loss_pushes_up_the_better_sample_of_an_image():
    logps = torch.zeros(4, 3, requires_grad=True)
    loss = self_critical_loss(logps, torch.ones(4, 3), torch.tensor([1.0, 0.0, 0.5, 0.5]), k=2)
    loss.backward()
    assert logps.grad[0].lt(0).all() and logps.grad[1].gt(0).all()   # descent raises sample 0, lowers sample 1
    assert logps.grad[2:].eq(0).all()                                 # equal rewards: nothing to learn


def test_samples_never_contain_words_the_product_never_says(tiny):
    decoder, vocab, _ = load_checkpoint(tiny[0])
    feats = torch.from_numpy(np.load(sorted((tiny[1] / "cache").glob("*.npy"))[0])[:6]).float()
    torch.manual_seed(0)
    ids, logps, mask = sample(decoder.train(), feats, 5, vocab.start, vocab.end, vocab.pad, never_said(vocab), 12)
    said = ids[mask.bool()]
    assert not torch.isin(said, never_said(vocab)).any()
    assert torch.isfinite(logps[mask.bool()]).all()
    assert mask[:, 0].all() and ids.shape == mask.shape


def test_self_critical_training_raises_the_reward_on_real_captions(tiny):
    """Sampled captions of 12 real photos earn more CIDEr-D after some self-critical steps."""
    decoder, vocab, _ = load_checkpoint(tiny[0])
    _, data, _ = prepare_data(TrainConfig(limit=12, min_freq=1, cache_dir=str(tiny[1] / "cache")))
    cider = CorpusCider(data.references)
    rows = [i for i in range(12) for _ in range(8)]
    feats = data.features.float()
    decoder.train()
    opt = torch.optim.Adam(decoder.parameters(), lr=3e-3)
    torch.manual_seed(0)
    rewards = []
    for _ in range(40):
        ids, logps, mask = sample(decoder, feats, 8, vocab.start, vocab.end, vocab.pad, never_said(vocab), 16)
        r = torch.from_numpy(cider.scores(words_of(ids, vocab), rows)).float()
        loss = self_critical_loss(logps, mask, r, 8)
        opt.zero_grad(); loss.backward(); opt.step()
        rewards.append(r.mean().item())
    assert np.mean(rewards[-8:]) > 1.3 * np.mean(rewards[:8]), rewards[::5]


def test_scst_run_saves_the_best_and_a_resumed_run_continues(tiny, tmp_path):
    base = dict(start=str(tiny[0]), limit=12, batch_images=4, cache_dir=str(tiny[1] / "cache"),
                out_dir=str(tmp_path), lr=1e-3, patience=10)
    said = []
    best = train_scst(ScstConfig(epochs=1, **base), log=said.append)
    assert said[0].startswith("start: val CIDEr-D") and best.exists()
    said = []
    train_scst(ScstConfig(epochs=2, resume=True, **base), log=said.append)
    assert said[0].startswith("resuming after epoch 1")
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]
    decoder, vocab, ckpt = load_checkpoint(best)
    assert ckpt.vocabulary == load_checkpoint(tiny[0])[2].vocabulary   # the start's vocabulary, unchanged


def test_scst_with_the_references_cross_entropy_kept_stays_nearer_the_references(tiny, tmp_path):
    """--scst-xe-weight: the same run, seed and samples, with the references' cross-entropy in the loss, ends
    with a lower cross-entropy on those references than the reward alone leaves, and still learns."""
    from model.train import teacher_forced_loss
    base = dict(start=str(tiny[0]), limit=12, batch_images=4, cache_dir=str(tiny[1] / "cache"), lr=3e-3,
                patience=10, epochs=3, ema=0)
    start, _, ckpt = load_checkpoint(tiny[0])
    _, data, _ = prepare_data(TrainConfig.of_checkpoint(ckpt, limit=12, cache_dir=base["cache_dir"]))

    def references_loss(decoder) -> float:
        with torch.no_grad():
            return teacher_forced_loss(decoder.eval(), *data.batch(torch.arange(len(data))), 0.0).item()

    losses = {}
    for weight in (0.0, 1.0):
        out = tmp_path / f"xe{weight}"
        train_scst(ScstConfig(out_dir=str(out), xe_weight=weight, **base), log=lambda m: None)
        losses[weight] = references_loss(load_checkpoint(out / "last.pt")[0])
        assert [json.loads(line)["epoch"] for line in (out / "log.jsonl").read_text().splitlines()] == [1, 2, 3]
    before = references_loss(start)
    assert losses[1.0] < losses[0.0] and losses[1.0] < before, (before, losses)


def test_meteor_rewards_an_images_own_caption_over_another_images_and_an_empty_caption_not_at_all():
    from model.scst import CorpusMeteor
    recs = split(load_captions(FLICKR), "train")[:20]
    meteor = CorpusMeteor([r["captions"][1:] for r in recs])
    try:
        own = meteor.scores([r["captions"][0] for r in recs], list(range(20)))
        other = meteor.scores([recs[(i + 7) % 20]["captions"][0] for i in range(20)], list(range(20)))
        assert own.mean() > 2 * other.mean() and (own > 0).all()
        assert meteor.scores(["", "a dog"], [0, 1])[0] == 0.0
    finally:
        meteor.close()
    assert meteor._meteor.meteor_p.poll() is not None          # its Java process is gone


def test_scst_with_the_meteor_reward_runs_records_it_and_ends_its_java_process(tiny, tmp_path):
    import subprocess
    said = []
    best = train_scst(ScstConfig(start=str(tiny[0]), limit=12, batch_images=4, cache_dir=str(tiny[1] / "cache"),
                                 out_dir=str(tmp_path), lr=1e-3, patience=10, epochs=1, meteor_weight=0.5),
                      log=said.append)
    assert any("reward (train CIDEr-D + 0.5 METEOR)" in m for m in said), said
    entry = json.loads((tmp_path / "log.jsonl").read_text())
    assert entry["reward"] > 0
    assert load_checkpoint(tmp_path / "last.pt")[2].trained["scst"]["config"]["meteor_weight"] == 0.5
    assert best.exists()
    mine = subprocess.run(["pgrep", "-P", str(os.getpid()), "-f", "meteor"], capture_output=True, text=True).stdout
    assert mine == ""


def test_a_soup_of_two_self_critical_runs_is_the_mean_of_their_weights_and_captions(tiny, tmp_path):
    """Two runs from one start with different rewards, averaged: every weight is the mean of the two, the file
    loads and captions a real photo, and both runs are on its record. Models that differ are refused."""
    from model import soup
    from model.checkpoint import CheckpointError
    common = dict(start=str(tiny[0]), limit=12, batch_images=4, cache_dir=str(tiny[1] / "cache"), lr=1e-3,
                  patience=10, epochs=1)
    train_scst(ScstConfig(out_dir=str(tmp_path / "a"), **common), log=lambda m: None)
    train_scst(ScstConfig(out_dir=str(tmp_path / "b"), meteor_weight=1.0, **common), log=lambda m: None)
    # Each run's trained weights: on 12 photos its best may be the start it was given.
    plain, other = tmp_path / "a" / "last.pt", tmp_path / "b" / "last.pt"
    made = soup.average([plain, other], tmp_path / "soup.pt")
    (a, _, _), (b, _, _), (mean, _, ckpt) = (load_checkpoint(p) for p in (plain, other, made))
    moved = 0
    for (name, w), wa, wb in zip(mean.state_dict().items(), a.state_dict().values(), b.state_dict().values()):
        assert torch.allclose(w, (wa + wb) / 2, atol=1e-6), name
        moved += int(not torch.equal(wa, wb))
    assert moved > 0                      # the two rewards trained two different models
    assert [s["config"]["meteor_weight"] for s in ckpt.trained["soup"]] == [0.0, 1.0]
    assert caption_of_a_test_photo(made, str(tiny[1] / "cache")).text
    wider = build_decoder(DecoderConfig.for_kind("attention", vocab_size=50, encoder_dim=1280, **TINY))
    from model.checkpoint import save_checkpoint
    from model.vocabulary import Vocabulary
    save_checkpoint(tmp_path / "other.pt", wider, Vocabulary.build(["a dog"], min_freq=1), "efficientnet_lite2", 9)
    with pytest.raises(CheckpointError, match="cannot be averaged"):
        soup.average([plain, tmp_path / "other.pt"], tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


def test_false_subjects_mark_a_caption_naming_what_no_reference_mentions():
    from model.scst import FalseSubjects
    refs = [["a dog runs on the grass", "a brown dog is running", "a puppy plays outside"],
            ["a man rides a bicycle", "a cyclist on a road", "a person is biking down the street"]]
    false = FalseSubjects(refs)
    assert false.scores(["a puppy runs on the grass", "a man rides a bike"], [0, 1]).tolist() == [0.0, 0.0]
    assert false.scores(["a man throws a ball to a dog", "a woman rides a horse"], [0, 1]).tolist() == [1.0, 1.0]


def test_scst_with_the_false_subject_penalty_runs_and_records_it(tiny, tmp_path):
    said = []
    train_scst(ScstConfig(start=str(tiny[0]), limit=12, batch_images=4, cache_dir=str(tiny[1] / "cache"),
                          out_dir=str(tmp_path), lr=1e-3, patience=10, epochs=1, false_penalty=0.5), log=said.append)
    assert any("reward (train CIDEr-D - 0.5 x false subject)" in m for m in said), said
    assert load_checkpoint(tmp_path / "last.pt")[2].trained["scst"]["config"]["false_penalty"] == 0.5


# --- sentence embeddings and the contrastive image side ------------------------------------------
def test_sentence_embeddings_tell_unrelated_captions_apart():
    """The package's tokenizer pads to 128 tokens; unmasked pads make every sentence look alike."""
    v = embed(["a black dog runs across the grass", "a dark dog is running through a field",
               "two women sit at a cafe table drinking coffee", "a man climbs a steep rock face"])
    cos = v @ v.T
    assert cos[0, 1] > 0.6
    assert max(cos[0, 2], cos[0, 3], cos[2, 3]) < 0.3
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)


def test_sentence_embeddings_are_cached_by_content(tmp_path):
    texts = ["a child plays in the sand", "a dog catches a ball"]
    first = cached_embeddings(texts, tmp_path, log=lambda m: None)
    files = list(tmp_path.glob("sentences_*.npy"))
    assert len(files) == 1
    said = []
    again = cached_embeddings(texts, tmp_path, log=said.append)
    assert said == [] and np.array_equal(first, again)
    cached_embeddings(texts[::-1], tmp_path, log=lambda m: None)
    assert len(list(tmp_path.glob("sentences_*.npy"))) == 2


def test_contrastive_pretraining_brings_images_to_their_own_captions(tiny):
    _, data, _ = prepare_data(TrainConfig(limit=12, min_freq=1, cache_dir=str(tiny[1] / "cache")))
    vectors = caption_vectors(data, str(tiny[1] / "cache"))
    torch.manual_seed(0)
    decoder = build_decoder(DecoderConfig.for_kind("attention", vocab_size=50, encoder_dim=1280, **TINY))
    before = {k: v.clone() for k, v in decoder.state_dict().items()}
    history = pretrain_image_side(decoder, data.features, vectors, ContrastiveConfig(epochs=30, batch_images=12),
                                  val=(data.features, vectors), log=lambda m: None)
    assert history[-1]["contrastive_loss"] < 0.5 * history[0]["contrastive_loss"]
    assert history[-1]["val_r1"] > 0.5                  # on its own 12 images: most find their caption
    after = decoder.state_dict()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert changed == {"project.0.weight", "project.0.bias", "init_h.weight", "init_h.bias"}


def test_training_with_the_contrastive_stage_runs_it_once(tiny, tmp_path):
    base = dict(limit=12, batch_images=4, min_freq=1, patience=10, cache_dir=str(tiny[1] / "cache"),
                out_dir=str(tmp_path), decoder_hparams=TINY, contrastive_epochs=2)
    said = []
    train(TrainConfig(epochs=1, **base), log=said.append)
    assert sum(m.startswith("contrastive epoch") for m in said) == 2
    said = []
    train(TrainConfig(epochs=2, resume=True, **base), log=said.append)
    assert not any(m.startswith("contrastive") for m in said)     # its weights are in last.pt already
    stages = [json.loads(line).get("stage") for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert stages == [None, None]                                   # the log holds the cross-entropy epochs


def test_train_command_runs_every_stage_on_a_tiny_run(tiny, tmp_path):
    out = tmp_path / "run"
    r = run_main("train", "--limit", "12", "--epochs", "1", "--contrastive-epochs", "1", "--scst-epochs", "1",
                 "--scst-soup-meteor-weight", "0", "--out", str(out), "--cache", str(tiny[1] / "cache"), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"best model: {out / 'scst' / 'best.pt'}" in r.stdout
    assert (out / "best.pt").exists() and (out / "scst" / "log.jsonl").read_text().count("\n") == 1
    assert load_checkpoint(out / "scst" / "best.pt")[2].trained["scst"]["epoch"] in (0, 1)   # 0: start kept
    # the model the recipe made carries its own hedge and abstention thresholds, chosen on its val captions
    calibration = load_checkpoint(out / "scst" / "best.pt")[2].calibration
    assert calibration["val_captions"] == 12 and {"per_token", "total", "bias"} <= calibration.keys()
    assert 0 <= calibration["abstain_share"] <= 1
    assert "calibrated on 12 val captions" in r.stdout


def test_contrastive_stage_needs_the_attention_decoder(tmp_path):
    r = run_main("train", "--decoder", "show_and_tell", "--contrastive-epochs", "1", "--out", str(tmp_path))
    assert r.returncode == 2 and "attention decoder" in r.stderr


# --- fine-tuning the encoder's top -----------------------------------------------------------------
@pytest.fixture(scope="module")
def tuned_run(tiny, tmp_path_factory):
    """A tiny attention model trained with its own copy of the encoder's top, on 12 real photos."""
    out = tmp_path_factory.mktemp("tuned_top")
    # Its own cache: features from below the top are another file, computed for these 24 photos.
    base = dict(limit=12, batch_images=4, min_freq=1, patience=10, cache_dir=str(out / "cache"),
                out_dir=str(out), decoder_hparams=TINY, tune_top=True, top_lr=1e-3, lr=3e-3, ema=0)
    torch.manual_seed(0)
    said = []
    best = train(TrainConfig(epochs=2, **base), log=said.append)
    return best, out, base, said


def test_a_decoder_with_its_own_top_starts_from_exactly_the_encoders_features():
    from model.encoder import Encoder, normalise, resizer
    from model.tuned_top import TunedTop
    from PIL import Image
    names = [r["image"] for r in split(load_captions(FLICKR), "test")[:3]]
    full = Encoder("efficientnet_lite2", 9).for_inference()
    below = Encoder("efficientnet_lite2", 9, before_top=True).for_inference()
    prepare = resizer(full.spec)
    pixels = normalise(np.stack([prepare(Image.open(FLICKR / "images" / n)) for n in names]))
    with torch.no_grad():
        want, got = full(pixels), below(pixels)
        assert got.shape == (3, 81, below.channels) and below.channels < want.shape[2]
        top = TunedTop("efficientnet_lite2").start_from(full)
        assert torch.allclose(top(got), want, atol=1e-4)
        assert torch.allclose(below.classify(got), full.classify(want), atol=1e-5)   # grounding sees the same
    assert all(p.requires_grad for n, p in top.named_parameters() if "conv" in n)


def test_tuning_the_top_lowers_the_loss_moves_the_top_and_a_resumed_run_continues(tuned_run):
    best, out, base, said = tuned_run
    from model.encoder import Encoder
    losses = [json.loads(line)["loss"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 2 and losses[1] < losses[0]
    decoder, _, ckpt = load_checkpoint(best)
    assert ckpt.decoder.top_of == "efficientnet_lite2" and ckpt.feature_encoder().before_top
    pretrained = Encoder("efficientnet_lite2", 9).for_inference().cnn.conv_head.weight
    assert not torch.allclose(decoder.top.conv_head.weight, pretrained)        # the top learnt
    assert (decoder.top.conv_head.weight - pretrained).abs().max() < 0.1        # fine-tuned, not replaced
    said = []
    train(TrainConfig(epochs=3, resume=True, **base), log=said.append)
    assert said[0].startswith("resuming after epoch 2")
    state = load_checkpoint(out / "last.pt")[2].training
    assert [e["epoch"] for e in state["history"]] == [1, 2, 3]
    assert [g["lr"] for g in state["optimizer"]["param_groups"]] == [3e-3, 1e-3]   # two rates, both kept


def test_self_critical_training_leaves_a_tuned_top_as_it_was(tuned_run, tmp_path):
    best, _, base, _ = tuned_run
    start = load_checkpoint(best)[0]
    after = train_scst(ScstConfig(start=str(best), epochs=1, limit=12, batch_images=4, lr=1e-3, patience=10,
                                  cache_dir=base["cache_dir"], out_dir=str(tmp_path)), log=lambda m: None)
    tuned = load_checkpoint(tmp_path / "last.pt")[0]
    assert all(torch.equal(a, b) for a, b in zip(start.top.state_dict().values(), tuned.top.state_dict().values()))
    assert not torch.equal(start.out.weight, tuned.out.weight)                 # while the decoder learnt
    assert after.exists()


def test_the_captioner_reads_a_tuned_top_model_and_grounds_with_the_encoders_own_top(tuned_run):
    """The tuned copy makes the words; the ImageNet head and the familiarity of the training photos still see
    the encoder's own, pretrained top."""
    from PIL import Image
    from model.calibration import calibrate
    from model.captioner import Captioner
    best, _, base, _ = tuned_run
    calibrate(best, cache_dir=base["cache_dir"], log=lambda m: None)
    plain = Captioner(best, device="cpu")
    assert plain.encoder.before_top
    assert plain.familiar is not None and plain.familiar.location.shape == (1280,)
    image = Image.open(FLICKR / "images" / split(load_captions(FLICKR), "test")[0]["image"])
    caption = plain.caption([image])[0]
    assert caption.words and caption.text and caption.novelty is not None and caption.novelty >= 0
    from model.encoder import Encoder, normalise
    full = Encoder("efficientnet_lite2", 9).for_inference()
    with torch.no_grad():
        probs = full.classify(full(normalise(plain.prepare(image)[None])))[0]
    top_class_word = plain.class_words[int(probs.argmax())]
    assert caption.concepts and top_class_word in [c for c, _ in caption.concepts]


def test_train_with_no_stage_flags_runs_the_recipe_of_the_shipped_model(tuned_run, tmp_path):
    """`main.py train` alone must make what ships: its stages are the shipped checkpoint's own record."""
    from model.checkpoint import SHIPPED, read_checkpoint
    _, _, base, _ = tuned_run
    out = tmp_path / "run"
    r = run_main("train", "--limit", "12", "--epochs", "1", "--out", str(out), "--cache", base["cache_dir"],
                 timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"best model: {out / 'soup.pt'}" in r.stdout
    made, shipped = read_checkpoint(out / "soup.pt").trained, read_checkpoint(SHIPPED).trained
    for key in ("tune_top", "contrastive_epochs", "encoder", "grid", "decoder"):
        assert made["config"][key] == shipped["config"][key], key
    assert made["config"]["tune_top"] is True
    # Two self-critical runs from one start, averaged: each run's rewards are the shipped soup's.
    assert len(made["soup"]) == len(shipped["soup"]) == 2
    assert [s["config"]["start"] for s in made["soup"]] == [str(out / "best.pt")] * 2
    for mine, theirs in zip(made["soup"], shipped["soup"]):
        assert mine["config"]["epochs"] == theirs["config"]["epochs"] == 1
        for key in ("xe_weight", "meteor_weight", "false_penalty"):
            assert mine["config"][key] == theirs["config"].get(key, 0.0), key
    assert load_checkpoint(out / "soup.pt")[2].calibration["val_captions"] == 12


def test_tuning_the_top_is_refused_with_the_contrastive_stage(tmp_path):
    r = run_main("train", "--tune-top", "--contrastive-epochs", "1", "--out", str(tmp_path))
    assert r.returncode == 2 and "--tune-top or --contrastive-epochs" in r.stderr


# --- adaptive attention's visual sentinel ----------------------------------------------------------
def test_the_sentinel_takes_a_share_of_attention_from_the_regions_and_beam_search_reads_it(tiny):
    """alpha over the regions sums to 1 - beta, beta being the sentinel's share; greedy and beam search run."""
    from model.search import decode
    torch.manual_seed(0)
    decoder = build_decoder(DecoderConfig.for_kind("attention", vocab_size=50, encoder_dim=1280, sentinel=True,
                                                   **TINY)).eval()
    feats = torch.from_numpy(np.load(sorted((tiny[1] / "cache").glob("*.npy"))[0])[:3]).float()
    with torch.no_grad():
        _, _, alpha = decoder.step(decoder.init_state(feats), torch.ones(3, dtype=torch.long))
        assert alpha.shape == (3, 81)
        beta = 1 - alpha.sum(1)
        assert (beta > 0).all() and (beta < 1).all()
        for beam in (1, 3):
            assert len(decode(decoder, feats, 1, 2, beam, max_length=6)) == 3
    with pytest.raises(ValueError, match="hidden_dim must equal feature_dim"):
        build_decoder(DecoderConfig.for_kind("attention", vocab_size=50, sentinel=True, hidden_dim=64, feature_dim=32))


def test_training_with_the_sentinel_lowers_the_loss_and_a_resumed_run_continues(tiny, tmp_path):
    base = dict(limit=12, batch_images=4, min_freq=1, patience=10, lr=3e-3, ema=0, cache_dir=str(tiny[1] / "cache"),
                out_dir=str(tmp_path), decoder_hparams={**TINY, "sentinel": True})
    best = train_then_resume(base, tmp_path)
    decoder, _, ckpt = load_checkpoint(best)
    assert ckpt.decoder.sentinel and decoder.sentinel.gate.weight.shape == (64, 32 + 64 + 64)
    caption = caption_of_a_test_photo(best, base["cache_dir"])      # the assistant reads the model it made
    assert caption.words and caption.text and caption.alphas.shape[1] == 81


def test_the_train_command_builds_the_sentinel_decoder_and_refuses_it_for_show_and_tell(tiny, tmp_path):
    out = tmp_path / "run"
    r = run_main("train", "--sentinel", "--no-tune-top", "--limit", "12", "--epochs", "1", "--scst-epochs", "0",
                 "--out", str(out), "--cache", str(tiny[1] / "cache"), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    ckpt = load_checkpoint(out / "best.pt")[2]
    assert ckpt.decoder.sentinel and ckpt.trained["config"]["decoder_hparams"] == {"sentinel": True}
    r = run_main("train", "--decoder", "show_and_tell", "--sentinel", "--out", str(tmp_path / "no"))
    assert r.returncode == 2 and "visual sentinel" in r.stderr


# --- concept inputs (LSTM-A) -------------------------------------------------------------------------
def test_concept_inputs_are_the_classifiers_own_probabilities_and_stay_frozen_while_the_decoder_learns(tuned_run,
                                                                                                      tmp_path):
    """With a tuned top, the concepts still come from the pretrained top and head: exactly what grounding reads.
    Training lowers the loss, moves the tuned top, leaves the concept copy as it was, and a resumed run continues."""
    from model.encoder import Encoder
    _, tuned_out, base, _ = tuned_run
    base = {**base, "out_dir": str(tmp_path), "decoder_hparams": {**TINY, "concepts": "efficientnet_lite2"}}
    best = train_then_resume(base, tmp_path)
    decoder, _, ckpt = load_checkpoint(tmp_path / "last.pt")
    assert ckpt.decoder.concepts == "efficientnet_lite2" and ckpt.decoder.top_of
    below = Encoder("efficientnet_lite2", 9, before_top=True).for_inference()
    feats = torch.from_numpy(np.load(sorted((tuned_out / "cache").glob("*.npy"))[0])[:4]).float()
    with torch.no_grad():
        assert torch.allclose(decoder.concepts.probabilities(feats), below.classify(feats), atol=1e-5)
        assert not torch.allclose(decoder.top(feats), below.top(feats), atol=1e-3)    # the tuned copy moved
    assert not any(p.requires_grad for n, p in decoder.concepts.named_parameters() if not n.startswith("to_"))
    caption = caption_of_a_test_photo(best, base["cache_dir"])      # the assistant reads the model it made
    assert caption.words and caption.text


def test_the_train_command_builds_concept_inputs_and_refuses_them_for_show_and_tell(tiny, tmp_path):
    out = tmp_path / "run"
    r = run_main("train", "--concepts", "--no-tune-top", "--limit", "12", "--epochs", "1", "--scst-epochs", "0",
                 "--out", str(out), "--cache", str(tiny[1] / "cache"), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    decoder, _, ckpt = load_checkpoint(out / "best.pt")
    assert ckpt.trained["config"]["decoder_hparams"] == {"concepts": "efficientnet_lite2"}
    from model.encoder import Encoder
    full = Encoder("efficientnet_lite2", 9).for_inference()
    feats = torch.from_numpy(np.load(sorted((tiny[1] / "cache").glob("*.npy"))[0])[:3]).float()
    with torch.no_grad():      # without a tuned top the cached features are the pretrained top's own
        assert torch.allclose(decoder.concepts.probabilities(feats), full.classify(feats), atol=1e-5)
    r = run_main("train", "--decoder", "show_and_tell", "--concepts", "--out", str(tmp_path / "no"))
    assert r.returncode == 2 and "concept inputs" in r.stderr
