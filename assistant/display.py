"""Is there a desktop to talk to? Asked before touching X11/Wayland, so that a
session without one gets a short reason instead of a library's page of advice."""
import os
import sys


def no_display() -> bool:
    """True on Linux when neither an X11 nor a Wayland display is set."""
    return sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
