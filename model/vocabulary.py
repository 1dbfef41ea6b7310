"""Word <-> index mapping, built from training captions and stored in the checkpoint."""
import re
from collections import Counter

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIALS = (PAD, START, END, UNK)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-case words; punctuation and digits dropped (as the captions' scoring does)."""
    return _WORD.findall(text.lower())


class Vocabulary:
    def __init__(self, words: list[str]):
        if list(words[:4]) != list(SPECIALS):
            raise ValueError(f"vocabulary must start with {SPECIALS}")
        self.itos = list(words)
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    pad, start, end, unk = 0, 1, 2, 3

    @classmethod
    def build(cls, captions, min_freq: int = 5) -> "Vocabulary":
        counts = Counter(w for c in captions for w in tokenize(c))
        # Sorted by frequency, then alphabetically, so the same data gives the same ids.
        kept = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
        return cls(list(SPECIALS) + kept)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        """<start> words <end>, unknown words as <unk>."""
        return [self.start] + [self.stoi.get(w, self.unk) for w in tokenize(text)] + [self.end]

    def decode(self, ids) -> str:
        words = []
        for i in ids:
            i = int(i)
            if i == self.end:
                break
            if i not in (self.start, self.pad):
                words.append(self.itos[i])
        return " ".join(words)

    def to_json(self) -> list[str]:
        return list(self.itos)

    @classmethod
    def from_json(cls, words: list[str]) -> "Vocabulary":
        return cls(words)
