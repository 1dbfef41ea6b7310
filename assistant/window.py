"""The active window: its title, application and place on the screen (X11, EWMH).

Read with python-xlib from the window manager's _NET_ACTIVE_WINDOW; without a window
manager, from the input focus, walking up to the nearest window with a title. This is
cheap (a few round trips), so the title can be said before anything slow runs."""
from dataclasses import dataclass

from assistant.display import KeptConnection, no_display


@dataclass(frozen=True)
class WindowInfo:
    title: str
    app: str                        # WM_CLASS's class part ("XTerm", "Chromium"), or ""
    kinds: tuple[str, ...]          # _NET_WM_WINDOW_TYPE names without the prefix ("NORMAL", "DIALOG")
    box: tuple[int, int, int, int]  # left, top, width, height on the root window (the content, no frame)

    @property
    def is_dialog(self) -> bool:
        return "DIALOG" in self.kinds


def _text(d, window, name: str) -> str:
    prop = window.get_full_property(d.intern_atom(name), 0)
    if not prop or not prop.value:
        return ""
    value = prop.value
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)).strip()


def _describe(d, window) -> WindowInfo | None:
    from Xlib import X
    title = _text(d, window, "_NET_WM_NAME") or _text(d, window, "WM_NAME")
    if not title:
        return None
    wm_class = window.get_wm_class() or ("", "")
    types = window.get_full_property(d.intern_atom("_NET_WM_WINDOW_TYPE"), X.AnyPropertyType)
    kinds = tuple(d.get_atom_name(a).removeprefix("_NET_WM_WINDOW_TYPE_") for a in (types.value if types else []))
    geo = window.get_geometry()
    origin = window.translate_coords(d.screen().root, 0, 0)
    return WindowInfo(title, wm_class[1] or wm_class[0], kinds, (-origin.x, -origin.y, geo.width, geo.height))


def _focused(d) -> WindowInfo | None:
    """The focused top-level window on display connection `d`; Xlib errors pass to the caller."""
    from Xlib import X
    root = d.screen().root
    # The window manager's own hidden check window (titled "Openbox", say) holds the focus when no
    # application window does: it is not a window the user sees, so it is never named.
    check = root.get_full_property(d.intern_atom("_NET_SUPPORTING_WM_CHECK"), X.AnyPropertyType)
    hidden = {check.value[0]} if check and len(check.value) else set()
    active = root.get_full_property(d.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
    if active and active.value and active.value[0] and active.value[0] not in hidden:
        if info := _describe(d, d.create_resource_object("window", active.value[0])):
            return info
    window = d.get_input_focus().focus
    while isinstance(window, object) and window not in (X.NONE, X.PointerRoot) and window != root \
            and window.id not in hidden:
        if info := _describe(d, window):
            return info
        window = window.query_tree().parent
    return None


def active_window() -> WindowInfo | None:
    """The focused top-level window, or None (no display, or no window with a title has the focus).
    A connection of its own, opened and closed: for a one-off look; the service keeps a FocusedWindow."""
    looker = FocusedWindow()
    try:
        return looker.get()
    finally:
        looker.stop()


class FocusedWindow(KeptConnection):
    """One display connection for every look at the focused window: opening one costs most of the look,
    and the title is said before anything else when a key is pressed."""

    def get(self) -> WindowInfo | None:
        """The focused top-level window, or None (no display, or no window with a title has the focus)."""
        if no_display():
            return None
        from Xlib import display, error
        if self._connection is None:
            try:
                self._connection = display.Display()
            except Exception:      # noqa: BLE001 - no X server: nothing to name
                return None
        try:
            while self._connection.pending_events():     # none asked for, but the server may send some (a keymap
                self._connection.next_event()            # change): not read, they would pile up for good
            return _focused(self._connection)
        except error.XError:       # the window closed while we looked at it; the connection is still good
            return None
        except Exception:          # noqa: BLE001 - the connection broke (the display went away): the next look
            self.stop()            # connects again
            return None
