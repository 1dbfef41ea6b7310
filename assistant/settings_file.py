"""Opening the user's settings file in the desktop's editor, creating it (with a
pointer to the defaults) the first time: the one write Iris makes there, on request."""
import os
import platform
import subprocess
from pathlib import Path

from config import DEFAULTS, user_settings_path


def open_settings_file() -> tuple[bool, Path]:
    """(whether an editor could be started, the file's path)."""
    path = user_settings_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Your Iris settings. Copy keys here from the defaults to change them:\n"
                        f"# {DEFAULTS}\n# Restart Iris after editing.\n")
    opener = {"Darwin": ["open"], "Windows": None}.get(platform.system(), ["xdg-open"])
    try:
        if opener is None:
            os.startfile(path)  # noqa: S606 - Windows only
        else:
            subprocess.Popen(opener + [str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return False, path
    return True, path
