"""Captions beside photos, as PHOTO.EXT.txt. The photo itself is never opened for writing,
and an existing text file is never overwritten."""
from pathlib import Path


def write_sidecar(photo: Path, text: str) -> str | None:
    """Write the caption; returns why it was not written, or None."""
    side = Path(photo).with_name(Path(photo).name + ".txt")
    try:
        with open(side, "x", encoding="utf-8") as f:     # "x": fail rather than overwrite
            f.write(text + "\n")
    except FileExistsError:
        return f"{side} already exists; left unchanged"
    except OSError as e:
        return f"cannot write {side}: {e.strerror}"
    return None
