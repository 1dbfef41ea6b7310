"""Global keyboard shortcuts (pynput). Returns None, with the reason, when no display allows them."""
from typing import Callable

from assistant.display import no_display


def start_hotkeys(bindings: dict[str, Callable[[], None]]):
    """bindings: pynput combo ("<ctrl>+<alt>+d") -> callback. Returns (listener or None, problem or None)."""
    if no_display():
        return None, "there is no display to listen on"
    try:
        from pynput import keyboard
        for combo in bindings:
            keyboard.HotKey.parse(combo)     # a bad combination is reported, not silently ignored
        listener = keyboard.GlobalHotKeys(bindings)
        listener.daemon = True
        listener.start()
        listener.wait()
        return listener, None
    except ValueError as e:
        return None, f"a hotkey in settings is not a valid key combination ({e})"
    except Exception as e:   # ImportError/Xlib errors when there is no display
        first = (str(e).strip().splitlines() or [""])[0]     # pynput appends a page of resolutions
        return None, f"keyboard shortcuts are not available ({type(e).__name__}: {first})"
