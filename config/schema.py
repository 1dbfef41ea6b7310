"""What each setting may hold. One rule per key; the loader checks every key
against it so a typo or a bad value is caught before anything starts."""
from dataclasses import dataclass
from typing import Any, Callable

from assistant.actions import NAMES as ACTION_NAMES


@dataclass(frozen=True)
class Rule:
    kind: type | tuple          # the TOML type(s) accepted
    allowed: str                # plain words for the error message
    check: Callable[[Any], bool] = lambda v: True


def _hotkey(v: str) -> bool:
    # Parsed for real by pynput when the assistant starts; here only the shape.
    return bool(v) and all(part.strip() for part in v.split("+"))


def _number(lo: float, hi: float) -> Rule:
    return Rule((int, float), f"a number from {lo} to {hi}", lambda v: lo <= v <= hi)


SCHEMA: dict[str, dict[str, Rule]] = {
    "hotkeys": {
        name: Rule(str, 'a key combination such as "<ctrl>+<alt>+d"', _hotkey)
        for name in ACTION_NAMES
    },
    "screen": {
        "area": Rule(str, '"window" or "screen"', lambda v: v in ("window", "screen")),
        "monitor": Rule(str, '"under_mouse" or "all"', lambda v: v in ("under_mouse", "all")),
        "save_screenshots": Rule(bool, "true or false"),
        "screenshot_dir": Rule(str, "a folder path, or empty"),
    },
    "clipboard": {
        "enabled": Rule(bool, "true or false"),
        "poll_seconds": _number(0.2, 10),
    },
    "folders": {
        "watch": Rule(list, "a list of folder paths", lambda v: all(isinstance(p, str) and p for p in v)),
        "recursive": Rule(bool, "true or false"),
        "write_sidecar": Rule(bool, "true or false"),
        "settle_seconds": _number(0.1, 60),
        "burst_seconds": _number(0, 60),
    },
    "speech": {
        "enabled": Rule(bool, "true or false"),
        "rate": _number(80, 400),
        "volume": _number(0.0, 1.0),
        "voice": Rule(str, "a voice name, or empty"),
        "output_dir": Rule(str, "a folder path, or empty"),
    },
    "model": {
        "checkpoint": Rule(str, "a file path, or empty for the shipped model"),
        "device": Rule(str, '"auto", "cpu" or "cuda"', lambda v: v in ("auto", "cpu", "cuda")),
        "beam_size": Rule(int, "a whole number from 1 to 10", lambda v: 1 <= v <= 10),
        "max_length": Rule(int, "a whole number from 5 to 50", lambda v: 5 <= v <= 50),
        "hedge_below": Rule((int, float, str), 'a number from 0.0 to 1.0, or "auto" for the model\'s own',
                            lambda v: v == "auto" or (not isinstance(v, str) and 0.0 <= v <= 1.0)),
    },
    "web": {
        "port": Rule(int, "a port number from 1024 to 65535", lambda v: 1024 <= v <= 65535),
        "start_with_assistant": Rule(bool, "true or false"),
        "open_browser": Rule(bool, "true or false"),
    },
    "history": {
        "enabled": Rule(bool, "true or false"),
        "keep_screen_text": Rule(bool, "true or false"),
    },
}
