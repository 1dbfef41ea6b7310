"""A withheld caption's supported part: the caption cut before the phrase that names a
thing the presence probes (model/presence.py) doubt.

"a man is riding a bike down a dirt road" is withheld when the probes doubt the road,
although the man and the bike are there; "a man is riding a bike" may be said. The cut
is made at the last phrase boundary (a preposition, "and", "wearing") before the first
doubted thing, and the shorter caption is scored afresh: the decoder's own probability of
it (model/search.py: scored) and its own support. The narrator then weighs it with the
same doubt as any caption, so it is said only where that doubt allows
(assistant/narrator.py). That doubt was learnt on whole captions; a cut one ends where
the decoder seldom ends, so its probability is low and the doubt errs on the side of
"possibly" (benchmarks/results/grounding.md counts how often a cut caption is wrong).
A new search without the doubted thing was tried instead and garbled captions ("a wooden
wooden wooden table"): cutting keeps the decoder's own words.

Writing the cut by hand: caption grammar is narrow (Flickr8k's captions are one clause
and its phrases), and no installed library cuts a sentence at a phrase before a word."""
import torch

from model.presence import least
from model.search import scored

WEAK = 0.5     # a named thing the probes find less likely than not is cut away
# Words that open a phrase a caption can end before ("... is riding a bike | down a dirt road").
BOUNDARIES = {"in", "on", "at", "through", "down", "up", "with", "near", "by", "over", "under", "into", "across",
              "along", "behind", "beside", "while", "and", "from", "toward", "towards", "outside", "inside",
              "around", "past", "onto", "against", "next", "wearing", "holding", "as"}
MIN_WORDS = 3
# Words that begin a noun phrase: "and" opens a phrase only before one ("a hat and sunglasses"), not inside a
# list of colours ("a red and white helmet").
DETERMINERS = {"a", "an", "the", "two", "three", "four", "five", "several", "some", "many"}
DANGLING = {"is", "are"} | DETERMINERS      # a clause never ends on these ("a woman is", "a man in a")


def cut(words: list[str], things: list[int], weak: int) -> list[str] | None:
    """words cut before a phrase that holds words[weak], the latest such cut that says something on its own, or
    None: what is left must keep a thing (things: the positions of the words that name one) and a verb ("is",
    "are" or an -ing word that names no thing), and must not end on "is" or an article."""
    for b in reversed(range(1, weak)):
        if words[b] not in BOUNDARIES:
            continue
        if words[b] == "and" and not (words[b + 1] in DETERMINERS or b + 1 in things):
            continue
        kept = words[:b]
        named = any(i < b for i in things)
        verb = any(w in ("is", "are") or (w.endswith("ing") and i not in things) for i, w in enumerate(kept))
        if len(kept) >= MIN_WORDS and named and verb and kept[-1] not in DANGLING:
            return kept
    return None


def shorter(decoder, vocab, features: torch.Tensor, captions: list[list[int]],
            named: list[list[tuple[int, float]]]) -> list[tuple | None]:
    """For each caption (word ids) with a doubted thing (named: model/presence.py Presence.named), its cut
    (text, score, support) scored on its own image, or None. features: (N, R, C) what the decoder reads. The
    cut's support is its kept things' chances: the probes read the photo, not the words."""
    cuts = {}
    for i, (ids, things) in enumerate(zip(captions, named)):
        positions = {}
        for p, word in enumerate(ids):
            positions.setdefault(word, p)                         # a thing is named once (model/search.py)
        weak = [positions[w] for w, chance in things if chance < WEAK]
        if weak:
            words = [vocab.itos[w] for w in ids]
            kept = cut(words, [positions[w] for w, _ in things], min(weak))
            if kept:
                cuts[i] = (ids[:len(kept)], least([(w, p) for w, p in things if positions[w] < len(kept)]))
    if not cuts:
        return [None] * len(captions)
    rows = torch.tensor(list(cuts), device=features.device)
    scores = scored(decoder, features[rows], [ids for ids, _ in cuts.values()], vocab.start, vocab.end)
    out = [None] * len(captions)
    for (i, (ids, support)), score in zip(cuts.items(), scores):
        out[i] = (vocab.decode(ids), score, support)
    return out


def weighed(decoder, vocab, presence, features: torch.Tensor, captions: list[list[int]],
            pooled: torch.Tensor) -> tuple[list, list]:
    """What the narrator weighs a caption by, beside its score: (its support, its cut or None) for each caption
    (word ids) of each image; both None for every caption of a model without presence probes."""
    if presence is None:
        return [None] * len(captions), [None] * len(captions)
    named = presence.named(captions, pooled)
    return [least(m) for m in named], shorter(decoder, vocab, features, captions, named)
