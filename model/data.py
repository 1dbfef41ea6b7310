"""Flickr8k captions and splits, read from ../shared (never copied into the repo)."""
import json
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT.parent / "shared" / "data" / "flickr8k"


class DataMissing(FileNotFoundError):
    pass


def load_captions(data_dir: Path = DEFAULT_DATA) -> list[dict]:
    """Records {"image", "split", "captions"} from captions.jsonl, with a clear error if it is absent."""
    path = Path(data_dir) / "captions.jsonl"
    if not path.is_file():
        raise DataMissing(f"Flickr8k captions not found at {path}. Put the data set there "
                          f"(see ../shared/README.md) or pass --data DIR.")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def split(records: list[dict], name: str) -> list[dict]:
    """'train' also takes the 91 'extra' images, which belong to no official split;
    they are never put in val or test."""
    wanted = {"train", "extra"} if name == "train" else {name}
    return [r for r in records if r["split"] in wanted]
