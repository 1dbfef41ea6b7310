"""What a photo shows, by the words of its own references: one presence probe per person,
animal or thing that Flickr8k's captions mention often enough.

The caption's own probability cannot tell "a man" from "a woman with a dog" when the
decoder is sure of both; a probe can. Each probe is a logistic regression (scikit-learn)
on the photo's pooled encoder features, trained on the training photos: is this thing
mentioned by any of the photo's references? That is exactly what a caption's named thing
needs to be true (model/concepts.py: false_subject). A caption's support is the least
likely of the things it names, and it is one of the doubt's signals (model/calibration.py).

A thing named in too few training photos gets no probe: its support is the share of
training photos it could at most appear in, since a caption that names a rare thing
names it falsely more often than not.

Like the doubt, the probes only know photos like the training ones: shown a cat close-up
they are as sure of a person as of any Flickr8k portrait. Images unlike the training
photos are told apart first (model/familiarity.py) and never reach them."""
from dataclasses import dataclass

import numpy as np
import torch

MIN_PHOTOS = 25        # training photos whose references must mention a thing for it to get a probe
STRENGTH = 0.01        # inverse L2 strength of each probe: 1,280 features and a few thousand photos
NONE, UNPROBED = -1, -2     # a vocabulary word that names no thing; one that names a thing without a probe


@dataclass(frozen=True)
class Presence:
    things: tuple[str, ...]      # the probed things, in the order of the rows below
    centre: torch.Tensor         # (D,) what the pooled features are standardised by
    scale: torch.Tensor          # (D,)
    weight: torch.Tensor         # (C, D)
    bias: torch.Tensor           # (C,)
    word_thing: torch.Tensor     # (V,) for each vocabulary word: its thing's row, NONE or UNPROBED
    rare: float                  # the support of a thing with no probe

    def probabilities(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, D) pooled features -> (B, C) the chance each thing is in each photo."""
        z = (pooled.float().to(self.centre.device) - self.centre) / self.scale
        return torch.sigmoid(z @ self.weight.T + self.bias)

    def named(self, captions: list[list[int]], pooled: torch.Tensor) -> list[list[tuple[int, float]]]:
        """For each caption (word ids) and its photo's (B, D) pooled features: each word that names a person,
        animal or thing, in order, with the chance that its thing is in the photo (no probe: its rarity)."""
        out = []
        for ids, p in zip(captions, self.probabilities(pooled).tolist()):
            rows = self.word_thing[torch.tensor(ids, dtype=torch.long)].tolist() if ids else []
            out.append([(i, p[r] if r >= 0 else self.rare) for i, r in zip(ids, rows) if r != NONE])
        return out

    def support(self, captions: list[list[int]], pooled: torch.Tensor) -> list[float]:
        """For each caption (word ids) and its photo's (B, D) pooled features, the chance of the least likely
        thing it names; 1 when it names none."""
        return [least(n) for n in self.named(captions, pooled)]

    def to(self, device) -> "Presence":
        return Presence(self.things, self.centre.to(device), self.scale.to(device), self.weight.to(device),
                        self.bias.to(device), self.word_thing, self.rare)

    def saved(self) -> dict:
        # Half precision halves what the checkpoint grows by; a probe's probability moves by far less than a hedge.
        return {"things": list(self.things), "centre": self.centre.cpu(), "scale": self.scale.cpu(),
                "weight": self.weight.cpu().half(), "bias": self.bias.cpu(), "word_thing": self.word_thing.cpu(),
                "rare": self.rare, "min_photos": MIN_PHOTOS}

    @classmethod
    def from_saved(cls, saved: dict | None) -> "Presence | None":
        if not saved or "weight" not in saved:
            return None
        return cls(tuple(saved["things"]), saved["centre"].float(), saved["scale"].float(), saved["weight"].float(),
                   saved["bias"].float(), saved["word_thing"].long(), float(saved["rare"]))


def least(named: list[tuple[int, float]]) -> float:
    """A caption's support from Presence.named's list for it: its least likely thing's chance; 1 for none."""
    return min((p for _, p in named), default=1.0)


def word_things(words: list[str], things: tuple[str, ...], kind) -> torch.Tensor:
    """(V,) each vocabulary word's probed thing, NONE or UNPROBED (kind: model.concepts.thing_noun's)."""
    from model.concepts import things_said
    row = {t: i for i, t in enumerate(things)}
    out = []
    for w in words:
        said = things_said(w, kind) if w.isalpha() else set()
        out.append(row.get(next(iter(said)), UNPROBED) if said else NONE)
    return torch.tensor(out, dtype=torch.long)


def fit(train_pooled: np.ndarray, references: list[list[str]], words: list[str], kind, log=print) -> Presence:
    """Probes for every thing MIN_PHOTOS or more training photos' references mention."""
    from collections import Counter

    from sklearn.linear_model import LogisticRegression

    from model.concepts import NAMES, things_referenced
    mentioned = [things_referenced(refs, kind) for refs in references]
    counts = Counter(t for m in mentioned for t in m)
    # A caption's "puppy" is the concept "dog" (model/concepts.py: NAMES), whose probe learns from both words.
    aliases = {w for concept, names in NAMES.items() for w in names if w != concept}
    # A thing every photo mentions (a tiny run's "person") leaves a probe nothing to tell apart.
    things = tuple(sorted(t for t, n in counts.items() if MIN_PHOTOS <= n < len(references) and t not in aliases))
    centre, scale = train_pooled.mean(0), train_pooled.std(0) + 1e-6
    z = (train_pooled - centre) / scale
    weight, bias = np.zeros((len(things), z.shape[1])), np.zeros(len(things))
    for i, t in enumerate(things):
        probe = LogisticRegression(C=STRENGTH, max_iter=2000).fit(z, [t in m for m in mentioned])
        weight[i], bias[i] = probe.coef_[0], probe.intercept_[0]
    log(f"presence probes for {len(things)} things mentioned in {MIN_PHOTOS} or more of {len(references)} training "
        f"photos")
    return Presence(things, torch.from_numpy(centre).float(), torch.from_numpy(scale).float(),
                    torch.from_numpy(weight).float(), torch.from_numpy(bias).float(),
                    word_things(words, things, kind), min(1.0, MIN_PHOTOS / len(references)))
