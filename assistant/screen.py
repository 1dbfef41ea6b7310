"""Screenshots with mss, kept in memory; saved only when the user turned that on."""
from datetime import datetime
from pathlib import Path

from PIL import Image

from assistant.display import KeptConnection


class ScreenUnavailable(RuntimeError):
    pass


def _pointer() -> tuple[int, int] | None:
    try:
        from pynput.mouse import Controller
        return tuple(int(v) for v in Controller().position)
    except Exception:   # no display or no pointer: fall back to the primary monitor
        return None


class Screenshots(KeptConnection):
    """One connection to the display for every screenshot: opening it costs many times what the screenshot
    itself does, and a key press should not wait for it."""

    def grab(self, monitor: str = "under_mouse") -> tuple[Image.Image, tuple[int, int]]:
        """The monitor under the pointer (or every monitor, with monitor='all') as an RGB image, and where its
        top left corner is on the whole desktop."""
        try:
            import mss
            if self._connection is None:
                self._connection = mss.MSS()
            monitors = self._connection.monitors
            target = monitors[0] if monitor == "all" or len(monitors) < 2 else monitors[1]
            # Asking where the pointer is costs a connection of its own: only worth it with monitors to choose from.
            if monitor == "under_mouse" and len(monitors) > 2 and (pos := _pointer()):
                for m in monitors[1:]:
                    if m["left"] <= pos[0] < m["left"] + m["width"] and m["top"] <= pos[1] < m["top"] + m["height"]:
                        target = m
                        break
            shot = self._connection.grab(target)
        except Exception as e:   # mss raises its own ScreenShotError, or Xlib errors with no display
            self.stop()          # a display that went away: the next screenshot connects again
            raise ScreenUnavailable(f"cannot take a screenshot ({e})") from None
        return Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX"), (target["left"], target["top"])


def window_part(image: Image.Image, origin: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image | None:
    """The part of a monitor's image that a window covers, or None when the window is not on that monitor."""
    left, top = box[0] - origin[0], box[1] - origin[1]
    right, bottom = min(image.width, left + box[2]), min(image.height, top + box[3])
    left, top = max(0, left), max(0, top)
    if right - left < 16 or bottom - top < 16:
        return None
    return image.crop((left, top, right, bottom))


def save(image: Image.Image, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"screen-{datetime.now():%Y%m%d-%H%M%S-%f}.png"
    image.save(path)
    return path
