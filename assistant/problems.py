"""Something that cannot work on this machine, said in two registers: a short plain
sentence for the listener (what does not work and what still does), and the
technical detail for the printed log only."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    said: str           # spoken and printed: "Keyboard shortcuts do not work here; use the tray menu."
    detail: str = ""    # printed only: the exception, the path, the library's words

    def printed(self) -> str:
        detail = " ".join(self.detail.split())          # one line
        return f"Iris: {self.said}" + (f" ({detail})" if detail else "")


def one_line(e: BaseException) -> str:
    """An exception as a single short line: its type and the first line of its message."""
    first = (str(e).strip().splitlines() or [""])[0]
    return f"{type(e).__name__}: {first}" if first else type(e).__name__
