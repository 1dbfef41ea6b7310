"""Descriptions beside photos, as PHOTO.EXT.txt, when the user asked for them. The photo
itself is never opened for writing, and an existing text file is never overwritten."""
from pathlib import Path
from typing import Callable

from assistant.events import Failed, Result


def write_sidecar(photo: Path, text: str) -> str | None:
    """Write the description; returns why it was not written, or None."""
    side = Path(photo).with_name(Path(photo).name + ".txt")
    try:
        with open(side, "x", encoding="utf-8") as f:     # "x": fail rather than overwrite
            f.write(text + "\n")
    except FileExistsError:
        return f"{side} already exists; left unchanged"
    except OSError as e:
        return f"cannot write {side}: {e.strerror}"
    return None


class SidecarWriter:
    """A listener on the worker's results: writes the narrator's words for each described photo file."""

    def __init__(self, words: Callable[[Result], str], log: Callable[[str], None] = print):
        self.words, self.log = words, log

    def __call__(self, result: Result) -> None:
        if not isinstance(result, Failed) and result.path is not None:
            if problem := write_sidecar(result.path, self.words(result)):
                self.log(f"[{result.source}] {problem}")
