"""Global keyboard shortcuts (pynput). A callback runs on pynput's listener thread, so
the service's callbacks only enqueue an action: nothing slow may run there."""
import threading
import time
from typing import Callable

from assistant.display import no_display
from assistant.problems import Problem

READY_TIMEOUT = 10.0   # seconds for the listener to connect to the X server


def _wait_until_ready(listener, timeout: float = READY_TIMEOUT) -> bool:
    """pynput's listener.wait() blocks forever when the listener thread dies before it is ready (the X
    server refused or reset its connection), which would hang start-up in silence. Wait on it from a
    helper thread instead, only while the listener lives."""
    waiter = threading.Thread(target=listener.wait, daemon=True, name="iris-hotkeys-ready")
    waiter.start()
    end = time.monotonic() + timeout
    while waiter.is_alive() and listener.is_alive() and time.monotonic() < end:
        waiter.join(0.05)
    return not waiter.is_alive()


class Hotkeys:
    """The running part: start() -> problems, stop()."""

    def __init__(self, bindings: dict[str, Callable[[], None]], fallback: str = "use the tray menu",
                 on_lost: Callable[[Exception], None] | None = None):
        """on_lost(error): called once, on the listener's thread, if the display goes away after start()."""
        self.bindings, self.fallback, self.on_lost = bindings, fallback, on_lost
        self.listener = None

    def start(self) -> list[Problem]:
        self.listener, problem = start_hotkeys(self.bindings, self.on_lost)
        if problem is None:
            return []
        if problem.startswith("a hotkey in settings"):
            return [Problem(f"A keyboard shortcut in your settings is not valid, so none work; {self.fallback}.",
                            problem)]
        return [Problem(f"Keyboard shortcuts do not work here; {self.fallback}.", problem)]

    def stop(self) -> None:
        if self.listener:
            try:
                self.listener.stop()
            except Exception:      # noqa: BLE001 - the display went away first: nothing is left to stop
                pass

    @property
    def working(self) -> bool:
        return self.listener is not None


def start_hotkeys(bindings: dict[str, Callable[[], None]], on_lost: Callable[[Exception], None] | None = None):
    """bindings: pynput combo ("<ctrl>+<alt>+d") -> callback. Returns (listener or None, problem or None).
    on_lost(error) is called if the listener, once ready, loses its display."""
    if no_display():
        return None, "there is no display to listen on"
    try:
        from pynput import keyboard
        for combo in bindings:
            keyboard.HotKey.parse(combo)     # a bad combination is reported, not silently ignored
        class Listener(keyboard.GlobalHotKeys):
            error: Exception | None = None
            listening = False           # ready once: a later error means the display went away

            def run(self):      # keep why the thread died, instead of a traceback on the terminal
                try:
                    super().run()
                except Exception as e:  # noqa: BLE001 - reported once, as a problem, below or by on_lost
                    self.error = e
                    if self.listening and on_lost:
                        on_lost(e)

        listener = Listener(bindings)
        listener.daemon = True
        listener.start()
    except ValueError as e:
        return None, f"a hotkey in settings is not a valid key combination ({e})"
    except Exception as e:   # ImportError/Xlib errors when there is no display
        return None, _unavailable(e)
    if not _wait_until_ready(listener):     # not listener.stop(): that waits for readiness too
        return None, _unavailable(listener.error or TimeoutError("the display did not answer"))
    listener.listening = True
    return listener, None


def _unavailable(e: Exception) -> str:
    first = (str(e).strip().splitlines() or [""])[0]     # pynput appends a page of resolutions
    return f"keyboard shortcuts are not available ({type(e).__name__}: {first})"
