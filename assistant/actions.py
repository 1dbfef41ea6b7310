"""The action table: every command a user can give Iris, defined once.

The `[hotkeys]` settings, the tray menu and the command line name actions by the
`name` here; nothing else keeps its own list."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    name: str           # the key in [hotkeys] and the tray's id for it
    label: str          # the tray menu's words
    in_menu: bool = True


ACTIONS: tuple[Action, ...] = (
    Action("describe_screen", "Describe screen"),
    Action("read_text", "Read all text"),
    Action("repeat_last", "Repeat last"),
    Action("stop_speaking", "Stop speaking"),
    Action("pause_watching", "Pause watching"),      # the tray shows "Resume watching" while paused
    Action("toggle_speech", "Speak"),                # a check item: ticked while speech is on
    Action("open_settings", "Open settings file"),
    Action("quit", "Quit"),
)

NAMES = tuple(a.name for a in ACTIONS)
