"""New clipboard images, each announced once.

On X11 we sleep until the X server says the clipboard changed hands (XFixes), so
an idle Iris costs no CPU; elsewhere we poll Pillow's ImageGrab.grabclipboard().
An image already seen (same pixels) is not announced again."""
import os
import select
import threading
from typing import Callable

from PIL import Image, ImageGrab

from assistant.bounded import BoundedSet
from assistant.display import no_display
from assistant.history import image_hash
from assistant.problems import Problem, one_line

SEEN_KEPT = 1000      # pixel hashes of images already announced; the oldest are forgotten


def read_clipboard_image() -> Image.Image | None:
    """The clipboard's image as RGB, or None when it holds no image. Raises NotImplementedError without xclip."""
    got = ImageGrab.grabclipboard()
    if isinstance(got, Image.Image):
        return got.convert("RGB")
    return None


class ClipboardWatcher:
    def __init__(self, on_image: Callable[[Image.Image, str], None], poll_seconds: float = 1.0,
                 log: Callable[[str], None] = print, on_lost: Callable[[Exception], None] | None = None):
        """on_lost(error): called once, on the watcher's thread, if the display goes away while it watches."""
        self.on_image, self.poll_seconds, self.log, self.on_lost = on_image, poll_seconds, log, on_lost
        self.seen = BoundedSet(SEEN_KEPT)
        self.paused = threading.Event()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None

    def start(self) -> list[Problem]:
        """Start watching; returns why the clipboard cannot be watched."""
        if no_display():
            return [Problem("Copied images are not described, because there is no display.", "no DISPLAY")]
        try:
            first = read_clipboard_image()      # what is there already is not "new"
        except NotImplementedError:
            return [Problem("Copied images are not described until xclip is installed.",
                            "clipboard images cannot be read: install xclip (X11) or wl-clipboard (Wayland)")]
        except Exception as e:
            return [Problem("Copied images are not described, because the clipboard cannot be read.", one_line(e))]
        if first is not None:
            self.seen.add(image_hash(first))
        display = self._xfixes_display()
        target = (lambda: self._watch_x11(display)) if display else self._poll
        self._thread = threading.Thread(target=target, name="iris-clipboard", daemon=True)
        self._thread.start()
        return []

    def stop(self) -> None:
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread:
            self._thread.join(timeout=5)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)

    def check(self) -> None:
        """Look at the clipboard now and announce its image if it is new."""
        if self.paused.is_set():
            return
        try:
            image = read_clipboard_image()
        except Exception as e:     # owner vanished mid-read, or garbage data
            self.log(f"Clipboard: could not read the image ({e})")
            return
        if image is None:
            return
        digest = image_hash(image)
        if digest not in self.seen:
            self.seen.add(digest)
            self.on_image(image, digest)

    @staticmethod
    def _xfixes_display():
        if not os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
            return None
        try:
            from Xlib import display
            from Xlib.ext import xfixes
            d = display.Display()
            if not d.has_extension("XFIXES"):
                d.close()
                return None
            d.xfixes_query_version()
            d.xfixes_select_selection_input(d.screen().root, d.get_atom("CLIPBOARD"),
                                            xfixes.XFixesSetSelectionOwnerNotifyMask)
            d.flush()
            return d
        except Exception:
            return None

    def _watch_x11(self, d) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([d.fileno(), self._wake_r], [], [])
                if self._wake_r in ready:
                    return
                changed = False
                try:
                    while d.pending_events():
                        d.next_event()
                        changed = True
                except Exception as e:     # noqa: BLE001 - the X server went away: nothing more will come
                    if self.on_lost:
                        self.on_lost(e)
                    return
                if changed:
                    self.check()
        finally:
            try:
                d.close()
            except Exception:              # noqa: BLE001 - already closed by the server
                pass

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.check()
