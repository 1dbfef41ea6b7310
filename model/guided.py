"""Captions made to name what the classifier is sure of.

When the encoder's ImageNet head is sure of an everyday category ("cat") and the caption
does not name it ("a dog is sitting on a bed"), the caption is searched again under a
constraint: it must say one of the category's words that the vocabulary has (constrained
beam search, Anderson et al. 2017; model/search.py). The sentence then keeps what the
decoder sees around the subject ("a cat is sitting on a bed") instead of becoming only
"a photo of a cat". A category whose words the decoder never learnt (a model trained
without cats) cannot be searched for; the narrator then says the grounded sentence."""
import torch

from model.concepts import CATEGORY_WORDS, GROUNDED, mentions, words_for
from model.search import Decoded, decode


def unnamed(caption: str, concepts) -> str | None:
    """The everyday category the classifier is sure of that the caption leaves out, or None."""
    if not concepts:
        return None
    word, p = concepts[0]
    return word if word in CATEGORY_WORDS and p >= GROUNDED and not mentions(caption, [word]) else None


def guide(decoder, vocab, features: torch.Tensor, found: list[Decoded], concepts, beam: int, max_length: int,
          banned=None, nouns=None) -> tuple[list[Decoded], list[bool]]:
    """`found` with each caption that leaves out a sure category replaced by the best one that names it, and
    which were replaced. A caption stays as it was when no search names the category within max_length."""
    wanted = {}
    for i, (d, c) in enumerate(zip(found, concepts)):
        concept = unnamed(vocab.decode(d.ids), c)
        ids = [vocab.stoi[w] for w in words_for(concept) if w in vocab.stoi] if concept else []
        if ids:
            wanted[i] = ids
    replaced = [False] * len(found)
    if not wanted:
        return found, replaced
    required = torch.zeros(len(wanted), len(vocab), dtype=torch.bool, device=features.device)
    for row, ids in enumerate(wanted.values()):
        required[row, ids] = True
    which = torch.tensor(list(wanted), device=features.device)
    again = decode(decoder, features[which], vocab.start, vocab.end, beam, max_length, banned=banned, nouns=nouns,
                   required=required)
    found = list(found)
    for i, d in zip(wanted, again):
        if d is not None:
            found[i], replaced[i] = d, True
    return found, replaced
