"""The tray icon and its menu (pystray), built from the action table. On Linux the GTK
back end is used, because pystray's plain X back end has no menu. Every item also has
a keyboard shortcut. A menu item only enqueues its action."""
import os
import sys
import threading
import time
from typing import Callable

from PIL import Image, ImageDraw

from assistant.actions import ACTIONS
from assistant.problems import Problem

DOCK_TIMEOUT = 10     # seconds for the tray host to show the icon


def tray_host_problem() -> str | None:
    """Why no tray icon can be shown here, or None."""
    if sys.platform.startswith("linux"):
        if not os.environ.get("DISPLAY"):
            return "no display"
        try:
            from Xlib import X, display
            d = display.Display()
            owner = d.get_selection_owner(d.get_atom(f"_NET_SYSTEM_TRAY_S{d.get_default_screen()}"))
            d.close()
            if owner == X.NONE:
                return "no system tray on this desktop"
        except Exception as e:
            return f"cannot reach the display ({e})"
    return None


def icon_image(paused: bool) -> Image.Image:
    """An eye; grey with two bars when watching is paused (so the state also shows without colour)."""
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    colour = (120, 120, 120, 255) if paused else (30, 110, 220, 255)
    d.ellipse((4, 16, 60, 48), fill=(255, 255, 255, 255), outline=colour, width=4)
    d.ellipse((22, 22, 42, 42), fill=colour)
    if paused:
        d.rectangle((24, 24, 30, 40), fill=(255, 255, 255, 255))
        d.rectangle((34, 24, 40, 40), fill=(255, 255, 255, 255))
    return img


class Tray:
    def __init__(self, request: Callable[[str], None], is_paused: Callable[[], bool],
                 speech_on: Callable[[], bool], log: Callable[[str], None] = print):
        """request(action name) runs an action; is_paused and speech_on give the state the menu shows."""
        self.request, self.is_paused, self.speech_on, self.log = request, is_paused, speech_on, log
        self.icon = None
        self.docked = threading.Event()
        self._failed: str | None = None
        self._thread: threading.Thread | None = None

    def _item(self, action):
        from pystray import MenuItem
        run = (lambda name: lambda: self.request(name))(action.name)
        if action.name == "pause_watching":
            return MenuItem(lambda _: "Resume watching" if self.is_paused() else "Pause watching", run)
        if action.name == "toggle_speech":
            return MenuItem(action.label, run, checked=lambda _: self.speech_on())
        return MenuItem(action.label, run, default=action.name == "describe_screen")

    def start(self) -> list[Problem]:
        """Show the icon; returns why it cannot be shown."""
        if problem := tray_host_problem():
            return [Problem("There is no tray icon; use the keyboard shortcuts.", problem)]
        if sys.platform.startswith("linux"):
            try:
                import gi  # noqa: F401 - only to know whether the GTK back end can work
                os.environ.setdefault("PYSTRAY_BACKEND", "gtk")
            except ImportError:
                self.log("Tray: PyGObject is missing, so the tray icon has no menu; clicking it describes the screen.")
        try:
            import pystray
            menu = pystray.Menu(*(self._item(a) for a in ACTIONS if a.in_menu))
        except Exception as e:
            return [Problem("There is no tray icon; use the keyboard shortcuts.", f"the tray library cannot start ({e})")]
        self.icon = pystray.Icon("iris", icon_image(False), "Iris: watching", menu)
        self._thread = threading.Thread(target=self._run, name="iris-tray", daemon=True)
        self._thread.start()
        # Until the host docks the icon or the back end fails (its thread ends), and no longer.
        deadline = time.monotonic() + DOCK_TIMEOUT
        while not self.docked.wait(0.05) and self._thread.is_alive() and time.monotonic() < deadline:
            pass
        if self._failed or not self.docked.is_set():
            return [Problem("There is no tray icon; use the keyboard shortcuts.",
                            self._failed or "the tray host did not show the icon")]
        return []

    def _run(self) -> None:
        try:
            self.icon.run(setup=self._setup)
        except Exception as e:             # e.g. no D-Bus session for the GTK back end
            self._failed = f"the tray icon cannot start ({e})"
            self.icon = None

    def _setup(self, icon) -> None:
        icon.visible = True
        self.docked.set()
        self.log("Tray icon shown.")

    def refresh(self) -> None:
        """Show the paused state in the icon, its tooltip and the menu."""
        if self.icon:
            paused = self.is_paused()
            self.icon.icon = icon_image(paused)
            self.icon.title = "Iris: paused" if paused else "Iris: watching"
            self.icon.update_menu()

    def stop(self) -> None:
        if self.icon:
            self.icon.stop()
        if self._thread:
            self._thread.join(timeout=5)

    @property
    def working(self) -> bool:
        return self.docked.is_set()
