"""The decoder's large layers, packed once for oneDNN on a CPU, compute what torch's own layers compute:
the same numbers to float rounding, and the same captions from the shipped model."""
import copy

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from conftest import FLICKR
from model.prepacked import PackedLinear, PackedLSTMCell, available, pack_for_cpu


def test_the_pinned_torch_can_pack_so_the_fast_path_is_not_silently_off():
    assert available()


@pytest.mark.parametrize("rows", [1, 3, 48])
def test_a_packed_linear_and_lstm_cell_compute_what_torchs_do(rows):
    torch.manual_seed(rows)
    linear, cell = nn.Linear(256, 2569), nn.LSTMCell(768, 512)
    x, h, c = torch.randn(rows, 256), torch.randn(rows, 512), torch.randn(rows, 512)
    with torch.inference_mode():
        assert torch.allclose(PackedLinear.of(linear)(x), linear(x), atol=1e-5)
        regions = torch.randn(rows, 81, 256)                        # a batch of regions, as attention has
        assert torch.allclose(PackedLinear.of(linear)(regions), linear(regions), atol=1e-5)
        inputs = torch.randn(rows, 768)
        for packed, plain in zip(PackedLSTMCell(cell)(inputs, (h, c)), cell(inputs, (h, c))):
            assert torch.allclose(packed, plain, atol=1e-5)
        for packed, plain in zip(PackedLSTMCell(cell)(inputs), cell(inputs)):     # no memory yet: zeros
            assert torch.allclose(packed, plain, atol=1e-5)


def test_the_shipped_model_packs_its_large_layers_and_says_the_same_captions():
    from model.captioner import Captioner
    from model.data import DEFAULT_DATA, load_captions, split
    from model.search import decode
    captioner = Captioner(None, "cpu", beam_size=3)
    decoder = captioner.decoder
    assert isinstance(decoder.lstm, PackedLSTMCell) and isinstance(decoder.out, PackedLinear)
    assert isinstance(decoder.attention.score, nn.Linear)          # small weights stay as they were
    from model.checkpoint import load_checkpoint
    plain, vocab, _ = load_checkpoint(captioner.checkpoint, "cpu")
    photos = [Image.open(FLICKR / "images" / r["image"]) for r in split(load_captions(DEFAULT_DATA), "test")[:40]]
    found = captioner.caption(photos)
    features = captioner.encode(np.stack([captioner.prepare(p) for p in photos]))
    for beam in (1, 3):
        ours = decode(decoder, features, vocab.start, vocab.end, beam, banned=captioner.banned, nouns=captioner.nouns)
        theirs = decode(plain, features, vocab.start, vocab.end, beam, banned=captioner.banned, nouns=captioner.nouns)
        assert [d.ids for d in ours] == [d.ids for d in theirs]
        assert all(abs(a.score - b.score) < 1e-4 for a, b in zip(ours, theirs))
    assert [c.words for c in found] == [[vocab.itos[i] for i in d.ids] for d in theirs]


def test_a_packed_model_holds_nothing_to_train_or_to_save():
    model = pack_for_cpu(nn.Sequential(nn.Linear(1024, 1024), nn.Linear(16, 16)))
    assert isinstance(model[0], PackedLinear) and isinstance(model[1], nn.Linear)
    assert [n for n, _ in model.named_parameters()] == ["1.weight", "1.bias"]   # the packed one has none
    assert list(model.state_dict()) == ["1.weight", "1.bias"]     # its oneDNN weight is never written out


@pytest.mark.parametrize("kind", ["attention", "show_and_tell"])
def test_either_decoder_at_its_full_size_decodes_the_same_packed(kind):
    from model.decoder import DecoderConfig, build_decoder
    from model.search import decode
    torch.manual_seed(0)
    plain = build_decoder(DecoderConfig.for_kind(kind, vocab_size=3000)).eval()
    packed = pack_for_cpu(copy.deepcopy(plain))
    assert any(isinstance(m, PackedLSTMCell) for m in packed.modules())
    features = torch.randn(4, 81, 1280)
    for beam in (1, 3):
        assert [d.ids for d in decode(packed, features, 1, 2, beam)] == [d.ids for d in decode(plain, features, 1, 2, beam)]
