"""Encoder features computed once and kept on disk, so decoder epochs on a CPU are
fast. A cache is named by encoder, image size and grid; another encoder or size
gets its own file, and a file whose image list differs is rebuilt."""
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from model.encoder import Encoder, normalise, resizer

DEFAULT_CACHE = Path(__file__).resolve().parents[1] / "cache" / "features"


def cache_key(encoder: Encoder) -> str:
    below = "_belowtop" if encoder.before_top else ""
    return f"{encoder.name}_{encoder.spec.image_size}px_{encoder.grid}x{encoder.grid}{below}"


class _Images(torch.utils.data.Dataset):
    def __init__(self, paths, resize):
        self.paths, self.resize = paths, resize

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as im:
            return self.resize(im)


def _paths(encoder: Encoder, names: list[str], cache_dir: Path) -> tuple[Path, Path]:
    # The image list is part of the name, so a small run never overwrites the full cache.
    key = f"{cache_key(encoder)}_{hashlib.sha1(json.dumps(list(names)).encode()).hexdigest()[:8]}"
    return Path(cache_dir) / f"{key}.npy", Path(cache_dir) / f"{key}.json"


def existing_features(encoder: Encoder, names: list[str], cache_dir: Path = DEFAULT_CACHE) -> np.ndarray | None:
    """The cached features of exactly these images, or None when they were never computed in full."""
    data_path, meta_path = _paths(encoder, names, cache_dir)
    if meta_path.exists() and data_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("names") == list(names) and meta.get("complete"):
            return np.load(data_path, mmap_mode="r")
    return None


def cached_features(encoder: Encoder, images_dir: Path, names: list[str], cache_dir: Path = DEFAULT_CACHE,
                    batch_size: int = 16, log=print) -> np.ndarray:
    """(len(names), R, C) float16 features, read from the cache or computed and stored there."""
    if (found := existing_features(encoder, names, cache_dir)) is not None:
        return found
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    data_path, meta_path = _paths(encoder, names, cache_dir)
    key = data_path.stem
    meta_path.unlink(missing_ok=True)   # mark incomplete while writing
    shape = (len(names), encoder.grid * encoder.grid, encoder.channels)
    out = np.lib.format.open_memmap(data_path, mode="w+", dtype=np.float16, shape=shape)
    loader = torch.utils.data.DataLoader(_Images([Path(images_dir) / n for n in names], resizer(encoder.spec)),
                                         batch_size=batch_size, num_workers=1)
    encoder.for_inference()
    log(f"Encoding {len(names)} images once; the features are kept in {cache_dir} for next time.")
    i, began = 0, time.monotonic()
    with torch.inference_mode():
        for batch in tqdm(loader, desc=f"encoding images ({key})", unit="batch"):
            feats = encoder(normalise(batch)).numpy().astype(np.float16)
            out[i:i + len(feats)] = feats
            i += len(feats)
            if i == 4 * batch_size and len(names) > 8 * batch_size:     # measured here, on this machine
                left = (time.monotonic() - began) / i * (len(names) - i)
                log(f"Encoding will take about {max(1, round(left / 60))} more minute(s).")
    out.flush()
    del out
    meta_path.write_text(json.dumps({"names": list(names), "complete": True, "key": key}))
    return np.load(data_path, mmap_mode="r")
