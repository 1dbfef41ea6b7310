"""Is there a desktop to talk to? Asked before touching X11/Wayland, so that a
session without one gets a short reason instead of a library's page of advice."""
import os
import sys


class KeptConnection:
    """A running part's connection to the display, opened at its first use and kept for every later one
    (opening one costs more than a screenshot or a look at a window). Nothing opens at start(), as a display
    may come later; stop() closes it, and a connection that broke is closed so that the next use opens anew.
    Used from one thread (the service's), as such a connection must be."""

    def __init__(self):
        self._connection = None

    def start(self) -> list:
        return []

    def stop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:      # noqa: BLE001 - the display may be gone already
                pass
            self._connection = None


def no_display() -> bool:
    """True on Linux when neither an X11 nor a Wayland display is set."""
    return sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
