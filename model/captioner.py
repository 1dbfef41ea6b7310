"""Image(s) in, caption(s) out: the one object the assistant and the CLI use."""
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from model.calibration import for_checkpoint
from model.checkpoint import SHIPPED, load_checkpoint
from model.concepts import concept_words, group, noun_groups
from model.encoder import normalise, resizer
from model.familiarity import Familiarity
from model.guided import guide
from model.prepacked import pack_for_cpu
from model.presence import Presence
from model.search import LENGTH_ALPHA, NO_REPEAT, decode, never_said
from model.shorter import weighed


@dataclass
class Caption:
    text: str
    score: float          # mean log-probability per token
    words: list[str]
    alphas: torch.Tensor | None   # (len(words), grid*grid) attention per word
    grid: int
    concepts: tuple = ()  # (plain word, probability) the encoder's ImageNet head sees, most likely first
    novelty: float | None = None   # 1 or more: unlike the model's training photos (model/familiarity.py)
    support: float | None = None   # the chance of the least likely thing it names (model/presence.py)
    shorter: tuple | None = None   # (text, score, support) of it cut before a thing the probes doubt (model/shorter.py)

    @property
    def confidence(self) -> float:
        """Geometric-mean token probability, 0..1: what a number for model.hedge_below is compared with."""
        return math.exp(self.score)


def resolve_device(setting: str = "auto") -> str:
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("model.device is 'cuda' but no CUDA GPU is available; set it to 'auto' or 'cpu'.")
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


class Captioner:
    def __init__(self, checkpoint: Path | str | None = None, device: str = "auto", beam_size: int = 3,
                 max_length: int = 20):
        self.device = resolve_device(device)
        self.checkpoint = Path(checkpoint) if checkpoint else SHIPPED
        self.decoder, self.vocab, ckpt = load_checkpoint(self.checkpoint, self.device)
        if self.device == "cpu":
            pack_for_cpu(self.decoder)    # beam search's few rows at a time, without MKL's per-call re-packing
        self.encoder = ckpt.feature_encoder().for_inference().to(self.device)
        self.prepare = resizer(self.encoder.spec)   # PIL image (any mode, any size) -> (S, S, 3) uint8
        self.beam_size, self.max_length = beam_size, max_length
        self.grid = self.encoder.grid
        self.banned = never_said(self.vocab, self.device)
        # No thing named twice, in the same word or another that means it ("a man riding a bike on a bicycle"):
        # such a caption is garbled, and the rule scored no worse than without it (benchmarks/results/grounding.md).
        # Needs WordNet; without it the rule is off.
        nouns = noun_groups(self.vocab.itos)
        self.nouns = torch.tensor(nouns, device=self.device) if nouns else None
        self.class_words = concept_words()            # None when the class list is not installed
        self.calibration = for_checkpoint(ckpt)       # how unsure is "possibly", and "I can't tell", for this model
        # None for a checkpoint calibrated before familiarity was learnt: then no image is called unfamiliar.
        self.familiar = Familiarity.from_saved(ckpt.calibration.get("familiar"))
        if self.familiar is not None:
            self.familiar = self.familiar.to(self.device)
        # None for a checkpoint calibrated before the presence probes: its doubt does not use them.
        self.presence = Presence.from_saved(ckpt.calibration.get("presence"))
        if self.presence is not None:
            self.presence = self.presence.to(self.device)
        # Everything that decides the words: cached captions are reused only while all of it is the same.
        mapping = hashlib.sha256("|".join(self.class_words).encode()).hexdigest()[:8] if self.class_words else "none"
        self.words_key = (f"{ckpt.sha256()[:16]}:beam{beam_size}:max{max_length}:"
                          f"alpha{LENGTH_ALPHA}:norepeat{NO_REPEAT}:nounk:nouns{self.nouns is not None}groups:"
                          f"concepts{mapping}:guided:presence{self.presence is not None}:shorter")

    @torch.inference_mode()
    def encode(self, pixels: np.ndarray) -> torch.Tensor:
        """(B, S, S, 3) uint8 pixels from prepare() -> region features."""
        return self.encoder(normalise(pixels).to(self.device))

    def decode(self, features: torch.Tensor, beam_size: int | None = None) -> list[Caption]:
        beam = beam_size or self.beam_size
        v = self.vocab
        with torch.inference_mode():
            found = decode(self.decoder, features, v.start, v.end, beam, self.max_length, banned=self.banned,
                           nouns=self.nouns)
            own = self.encoder.own(features)    # a tuned top's model: the pretrained top, run once for both below
            concepts = self.concepts(own)
            found, _ = guide(self.decoder, v, features, found, concepts, beam, self.max_length, banned=self.banned,
                             nouns=self.nouns)
            novelty = self.familiar.novelty(own) if self.familiar is not None else [None] * len(features)
            support, short = weighed(self.decoder, v, self.presence, features, [d.ids for d in found], own.mean(1))
        return [Caption(v.decode(d.ids), d.score, [v.itos[i] for i in d.ids], d.alphas, self.grid, c, n, s, cut)
                for d, c, n, s, cut in zip(found, concepts, novelty, support, short)]

    def concepts(self, own_features: torch.Tensor, top: int = 3) -> list[tuple]:
        """For each image, its top plain-word concepts with their summed class probabilities; own_features are
        the encoder's own() of what the decoder reads."""
        if self.class_words is None:
            return [()] * len(own_features)
        return [group(self.class_words, probs, top) for probs in self.encoder.head(own_features).tolist()]

    def caption(self, images: list[Image.Image], beam_size: int | None = None) -> list[Caption]:
        if not images:
            return []
        return self.decode(self.encode(np.stack([self.prepare(im) for im in images])), beam_size)

    def warm_up(self) -> None:
        """One throw-away caption so the first real request is not slowed by lazy initialisation."""
        self.caption([Image.new("RGB", (64, 64), "gray")], beam_size=1)
